/**
 * json-restore: restore a JSON chain of one full and 10 incrementals (each after 0.5% of
 * the documents changed) into a new folder, indexes rebuilt from their definitions,
 * fsynced. Untimed: clone, back up, change, back up ×10. `extra` splits the time into the
 * document phase (records loaded) and the index phase.
 */
import type { LoadedKey } from '../../src/index.js';
import { backupJson, restoreJson } from '../../src/index.js';
import type { Scenario } from '../scenario.js';
import { benchKey, cloneEnv, touchDocuments } from './snapshot-common.js';

interface State {
  chain: string;
  key: LoadedKey;
  backupBytes: number;
}

/** scenario: json-restore. */
export const scenario: Scenario<State> = {
  name: 'json-restore',
  description: 'pagevault restore of a JSON chain, full + 10 incrementals (zstd 3 + AES), indexes rebuilt, fsynced',
  async prepare(ctx) {
    const env = await cloneEnv(ctx.envDir, ctx.outDir);
    const key = await benchKey();
    const dest = `${ctx.outDir}/backups`;
    let r = await backupJson({ db: env, destination: dest, name: 'bench', key });
    let backupBytes = r.bytesWritten;
    for (let i = 0; i < 10; i++) {
      await touchDocuments(env, 0.005, 100 + i);
      r = await backupJson({ db: env, destination: dest, name: 'bench', key, incremental: true });
      backupBytes += r.bytesWritten;
    }
    return { chain: `${dest}/${r.chain}`, key, backupBytes };
  },
  inputs(_ctx, s) {
    return [s.chain];
  },
  async run(ctx, s) {
    const r = await restoreJson({ from: s.chain, to: `${ctx.outDir}/restored`, key: s.key });
    return {
      outputPath: `${ctx.outDir}/restored`,
      extra: {
        files: r.files.length,
        docs: r.docs,
        recordSeconds: r.recordSeconds,
        indexSeconds: r.indexSeconds,
        docsPerSecondRecordPhase: Math.round(r.docs / r.recordSeconds),
        indexEntries: r.indexEntries,
        chainBytes: s.backupBytes,
      },
    };
  },
};
