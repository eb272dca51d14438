/**
 * restic: `restic backup` of a stopped copy of the database directory into a fresh
 * local repository (format v2: zstd compression "auto", AES-256 encryption). Untimed:
 * staging copy (once per invocation), `restic init`. Timed: `restic backup` only, which
 * fsyncs its pack files itself. Peak RSS is restic's own (GNU time). See ../restic-peer.ts.
 */
import { backupArgs, backupSummary, initRepo, repoFacts, restic, stagedCopy, type ResticRepo } from '../restic-peer.js';
import type { Scenario } from '../scenario.js';

interface State {
  repo: ResticRepo;
  source: string;
}

/** scenario: restic. */
export const scenario: Scenario<State> = {
  name: 'restic',
  description: 'peer: restic 0.14 backup of a stopped copy of data.mdb into a fresh repo v2 (zstd auto, AES-256)',
  requires: ['restic'],
  workerCommand: 'restic',
  async prepare(ctx) {
    const source = await stagedCopy(ctx);
    const repo = await initRepo(ctx);
    return { repo, source };
  },
  inputs(_ctx, { source }) {
    return [source];
  },
  async run(ctx, { repo, source }) {
    const r = await restic(repo, backupArgs(source), ctx.outDir);
    return { outputPath: repo.repo, external: r.usage, extra: backupSummary(r.stdout) };
  },
  async after(ctx, { repo }) {
    return repoFacts(repo, ctx.outDir);
  },
};
