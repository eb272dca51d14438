/**
 * snapshot-restore: restore a chain of one full and 10 incrementals (each after 0.5% of
 * the documents changed) into a new folder. Untimed: clone, back up, change, back up ×10.
 */
import type { LoadedKey } from '../../src/index.js';
import { backupSnapshot, restoreSnapshot } from '../../src/index.js';
import type { Scenario } from '../scenario.js';
import { benchKey, cloneEnv, touchDocuments } from './snapshot-common.js';

interface State {
  chain: string;
  key: LoadedKey;
  backupBytes: number;
}

/** scenario: snapshot-restore. */
export const scenario: Scenario<State> = {
  name: 'snapshot-restore',
  description: 'pagevault restore of full + 10 incrementals (zstd 3 + AES) into a new environment, fsynced',
  async prepare(ctx) {
    const env = await cloneEnv(ctx.envDir, ctx.outDir);
    const key = await benchKey();
    const dest = `${ctx.outDir}/backups`;
    let r = await backupSnapshot({ db: env, destination: dest, name: 'bench', key });
    let backupBytes = r.bytesWritten;
    for (let i = 0; i < 10; i++) {
      await touchDocuments(env, 0.005, 100 + i);
      r = await backupSnapshot({ db: env, destination: dest, name: 'bench', key, incremental: true });
      backupBytes += r.bytesWritten;
    }
    return { chain: `${dest}/${r.chain}`, key, backupBytes };
  },
  inputs(_ctx, s) {
    return [s.chain];
  },
  async run(ctx, s) {
    const r = await restoreSnapshot({ from: s.chain, to: `${ctx.outDir}/restored`, key: s.key });
    return { outputPath: `${ctx.outDir}/restored`, extra: { files: r.files.length, pages: r.pages, chainBytes: s.backupBytes } };
  },
};
