/**
 * snapshot-incremental: a page-level incremental after 1% of the documents changed.
 * Untimed: clone the dataset, take the full backup, update 1% of the documents. Timed: the
 * incremental (zstd 3 + AES-256-GCM). The JSON records the full's time and size too, so
 * the incremental's share of both is in one run.
 */
import type { LoadedKey } from '../../src/index.js';
import { backupSnapshot } from '../../src/index.js';
import type { Scenario } from '../scenario.js';
import { benchKey, cloneEnv, touchDocuments } from './snapshot-common.js';

interface State {
  env: string;
  key: LoadedKey;
  full: { seconds: number; bytes: number };
  touched: number;
}

/** scenario: snapshot-incremental. */
export const scenario: Scenario<State> = {
  name: 'snapshot-incremental',
  description: 'pagevault incremental snapshot after 1% of documents changed (zstd 3 + AES), vs its full in the same run',
  async prepare(ctx) {
    const env = await cloneEnv(ctx.envDir, ctx.outDir);
    const key = await benchKey();
    const full = await backupSnapshot({ db: env, destination: `${ctx.outDir}/backups`, name: 'bench', key });
    const touched = await touchDocuments(env, 0.01, 7);
    return { env, key, full: { seconds: full.seconds, bytes: full.bytesWritten }, touched };
  },
  inputs(_ctx, s) {
    return [`${s.env}/data.mdb`];
  },
  async run(ctx, s) {
    const r = await backupSnapshot({ db: s.env, destination: `${ctx.outDir}/backups`, name: 'bench', key: s.key, incremental: true });
    if (r.kind !== 'incremental-snapshot') throw new Error(`expected an incremental, got ${r.kind}: ${r.fullReason}`);
    return {
      outputBytes: r.bytesWritten,
      extra: {
        pages: r.pages,
        pagesVisited: r.pagesVisited,
        documentsChanged: s.touched,
        fullSeconds: s.full.seconds,
        fullBytes: s.full.bytes,
        timeVsFull: r.seconds / s.full.seconds,
        sizeVsFull: r.bytesWritten / s.full.bytes,
      },
    };
  },
};
