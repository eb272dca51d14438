/**
 * restic-restore: `restic restore latest --target DIR` from a repository made (untimed)
 * exactly like the `restic` scenario's. Timed: the restore command only. restic does not
 * fsync restored files (strace shows only its lock file), so unlike the other scenarios
 * this one's output is not durable when the timer stops; the time an fsync of the
 * restored tree takes afterwards is recorded as `extra.fsyncAfterMs` (untimed).
 * The restic cache from the untimed backup is kept, as on the machine that made it.
 */
import path from 'node:path';
import { fsyncPath } from '../fs-util.js';
import { backupArgs, initRepo, repoFacts, restic, stagedCopy, type ResticRepo } from '../restic-peer.js';
import type { Scenario } from '../scenario.js';

interface State {
  repo: ResticRepo;
  target: string;
}

/** scenario: restic-restore. */
export const scenario: Scenario<State> = {
  name: 'restic-restore',
  description: 'peer: restic 0.14 restore latest --target DIR from a fresh repo v2 holding one backup of data.mdb',
  requires: ['restic'],
  workerCommand: 'restic',
  async prepare(ctx) {
    const source = await stagedCopy(ctx);
    const repo = await initRepo(ctx);
    await restic(repo, backupArgs(source), ctx.outDir);
    return { repo, target: path.join(ctx.outDir, 'restore') };
  },
  inputs(_ctx, { repo }) {
    return [repo.repo];
  },
  async run(ctx, { repo, target }) {
    const r = await restic(repo, ['restore', 'latest', '--quiet', '--target', target], ctx.outDir);
    return { outputPath: target, external: r.usage };
  },
  async after(ctx, { repo, target }) {
    const t0 = performance.now();
    await fsyncPath(target);
    const fsyncAfterMs = Math.round(performance.now() - t0);
    return { ...(await repoFacts(repo, ctx.outDir)), fsyncAfterMs };
  },
};
