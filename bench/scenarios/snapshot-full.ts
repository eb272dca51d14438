/**
 * snapshot-full: pagevault's full snapshot backup of the dataset, zstd level 3 +
 * AES-256-GCM, to a local folder (a chain folder with the file and its manifest, fsynced).
 * snapshot-full-plain: the same without encryption, to show what encryption costs.
 */
import type { LoadedKey } from '../../src/index.js';
import { backupSnapshot } from '../../src/index.js';
import type { Scenario } from '../scenario.js';
import { benchKey } from './snapshot-common.js';

function makeFull(name: string, encrypt: boolean, description: string): Scenario<{ key?: LoadedKey }> {
  return {
    name,
    description,
    async prepare() {
      return { key: encrypt ? await benchKey() : undefined };
    },
    async run(ctx, { key }) {
      const r = await backupSnapshot({ db: ctx.envDir, destination: ctx.outDir, name: 'bench', key });
      return { outputBytes: r.bytesWritten, extra: { pages: r.pages, pinnedMs: r.pinnedMs, txnId: r.txnId, dataFileGrowthBytes: r.dataFileGrowthBytes } };
    },
  };
}

/** scenario: snapshot-full (zstd 3 + AES-256-GCM). */
export const scenario = makeFull('snapshot-full', true, 'pagevault full snapshot, zstd 3 + AES-256-GCM, local folder');
/** plain: snapshot-full-plain (zstd 3, not encrypted). */
export const plain = makeFull('snapshot-full-plain', false, 'pagevault full snapshot, zstd 3, not encrypted, local folder');
