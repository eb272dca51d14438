/**
 * restic-peer: driving restic (Debian package `restic`, 0.14 here) as a benchmark peer.
 *
 * - Repositories are created with `restic init --repository-version 2`. Version 2 is what
 *   0.14 calls "stable" (its default), and the only format with compression; backups run
 *   with the default `--compression auto` (zstd) and restic's always-on AES-256 + Poly1305.
 *   The JSON output records `restic cat config`'s version and the stored vs restored
 *   size from `restic stats` so compression is visible, not assumed.
 * - Password through RESTIC_PASSWORD; every other RESTIC_* variable from the user's
 *   environment is removed so a personal setup can't change what is measured.
 * - The cache (`--cache-dir`) lives in the run's output directory: every run starts with
 *   an empty cache, like a first backup on a new machine.
 * - Durability, checked with `strace -f -e trace=fsync`: `restic backup` fsyncs every
 *   file it writes to a local repository; `restic restore` fsyncs only its lock file,
 *   not the restored files.
 * - restic backs up a STOPPED copy of the database: data.mdb copied once per invocation
 *   to `<sharedDir>/restic-staging/db/` outside the timed region (restic reading a live
 *   LMDB file could capture a torn state).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { BenchPeerMissingError } from '../src/errors.js';
import { fsyncPath } from './fs-util.js';
import { runMeasured, type CommandResult } from './rss.js';
import type { ScenarioContext } from './scenario.js';

const RESTIC = 'restic';
const PASSWORD = 'pagevault-bench';

/** resticVersion: `restic version`'s first line, or null when restic is not on PATH. */
export function resticVersion(): string | null {
  const r = spawnSync(RESTIC, ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim().split('\n')[0] ?? null;
}

/** requireRestic: throw BenchPeerMissingError (PAGEVAULT_ERR_BENCH_PEER_MISSING) when restic is missing. */
export function requireRestic(): string {
  const v = resticVersion();
  if (v === null) {
    throw new BenchPeerMissingError('restic is not installed (not on PATH); run bench/setup.sh to install it');
  }
  return v;
}

/** resticEnv: our environment minus the user's RESTIC_* settings, plus the bench password. */
export function resticEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('RESTIC_')) env[k] = v;
  }
  env.RESTIC_PASSWORD = PASSWORD;
  return env;
}

/** ResticRepo: a repository for one run. */
export interface ResticRepo {
  repo: string;
  cacheDir: string;
  /** `restic cat config` version (2 expected). */
  version: number;
}

function tail(s: string, n = 600): string {
  const t = s.trim();
  return t.length > n ? `…${t.slice(-n)}` : t;
}

/** restic: run restic with the repo flags, measured; throws with stderr on failure. */
export async function restic(repo: ResticRepo, args: readonly string[], scratchDir: string): Promise<CommandResult> {
  const r = await runMeasured(RESTIC, ['--repo', repo.repo, '--cache-dir', repo.cacheDir, ...args], {
    env: resticEnv(),
    scratchDir,
  });
  if (r.code !== 0) {
    throw new Error(`restic ${args[0] ?? ''} exited with ${r.code}: ${tail(r.stderr || r.stdout)}`);
  }
  return r;
}

/** initRepo: `restic init --repository-version 2` in `<outDir>/repo`, cache in `<outDir>/cache`. */
export async function initRepo(ctx: ScenarioContext): Promise<ResticRepo> {
  const repo: ResticRepo = { repo: path.join(ctx.outDir, 'repo'), cacheDir: path.join(ctx.outDir, 'cache'), version: 0 };
  await restic(repo, ['init', '--repository-version', '2', '--quiet'], ctx.outDir);
  const config = await restic(repo, ['cat', 'config'], ctx.outDir);
  repo.version = Number((JSON.parse(config.stdout) as { version?: number }).version);
  return repo;
}

/**
 * stagedCopy: `<sharedDir>/restic-staging/db` holding a copy of data.mdb, made on first
 * use (copy, fsync, rename) and reused by later runs of the same invocation.
 */
export async function stagedCopy(ctx: ScenarioContext): Promise<string> {
  const dir = path.join(ctx.sharedDir, 'restic-staging', 'db');
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp`;
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(tmp, { recursive: true });
  await fsp.copyFile(ctx.dataMdb, path.join(tmp, 'data.mdb'));
  await fsyncPath(tmp);
  await fsp.rename(tmp, dir);
  return dir;
}

/**
 * backupArgs: the measured backup command line (after the repo flags). `--json --quiet`
 * prints only the final summary line, which holds restic's own `total_duration`: the
 * difference to our wall time is restic's fixed cost per invocation (start-up, opening
 * the repository, and the scrypt key derivation — N=32768, r=8, p=7 here, ~0.5 s CPU).
 */
export function backupArgs(source: string): string[] {
  return ['backup', '--quiet', '--json', '--host', 'pagevault-bench', source];
}

/** backupSummary: restic's `--json` backup summary (last line of stdout), or {} when absent. */
export function backupSummary(stdout: string): Record<string, unknown> {
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    const msg = JSON.parse(last) as Record<string, unknown>;
    if (msg.message_type !== 'summary') return {};
    return {
      resticTotalDurationMs: typeof msg.total_duration === 'number' ? Math.round(msg.total_duration * 1000) : undefined,
      resticBytesProcessed: msg.total_bytes_processed,
      resticDataAdded: msg.data_added,
    };
  } catch {
    return {};
  }
}

/** repoFacts: stored (compressed, encrypted) vs restored size and the repository version, for the JSON. */
export async function repoFacts(repo: ResticRepo, scratchDir: string): Promise<Record<string, unknown>> {
  const raw = JSON.parse((await restic(repo, ['stats', '--mode', 'raw-data', '--json'], scratchDir)).stdout) as {
    total_size?: number;
    total_blob_count?: number;
  };
  const restore = JSON.parse((await restic(repo, ['stats', '--mode', 'restore-size', '--json'], scratchDir)).stdout) as {
    total_size?: number;
  };
  return {
    repositoryVersion: repo.version,
    storedBlobBytes: raw.total_size,
    blobCount: raw.total_blob_count,
    restoreSizeBytes: restore.total_size,
    // Restored bytes per stored blob byte: compression and deduplication together.
    storedReduction: raw.total_size && restore.total_size ? restore.total_size / raw.total_size : null,
  };
}
