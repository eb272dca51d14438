/**
 * support: shared pieces of the task runner tests: a hosted database folder with a small
 * real lmdb-js environment, a runner driven by a FakeClock through simulated time, what a
 * local destination really holds (read from the filesystem, not through pagevault), and a
 * test-double Executors whose backups wait on promises the test resolves.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { RootDatabase } from 'lmdb';
import type { TmpEnvContext } from '../helpers/tmp-env.js';
import type { FakeClock } from '../../src/tasks/clock.js';
import type { BackupJob, Executors, RestoreJob, RunContext, TaskRunner } from '../../src/tasks/runner.js';
import type { BackupOutcome, RestoreOutcome } from '../../src/tasks/operation.js';
import type { TaskDefinition } from '../../src/tasks/task.js';
import { AbortedError } from '../../src/errors.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** hostDatabase: a small real lmdb-js environment at `<tmp.dir>/databases/<name>` (kept open by the test). */
export async function hostDatabase(tmp: TmpEnvContext, name: string): Promise<{ databasesDir: string; env: RootDatabase }> {
  const databasesDir = join(tmp.dir, 'databases');
  const env = tmp.open({ path: join(databasesDir, name) });
  await env.transaction(() => {
    for (let i = 0; i < 50; i++) env.putSync(`seed-${i}`, { i, text: 'x'.repeat(100) });
  });
  return { databasesDir, env };
}

/**
 * drive: the simulation loop of a scheduler: jump to the next instant any task is due,
 * let the timer fire (it ticks the runner), wait until every run it queued has finished.
 * `between` runs before each jump (a writer between backups). Returns the instants visited.
 */
export async function drive(runner: TaskRunner, clock: FakeClock, until: Date, between?: (at: Date) => Promise<unknown> | void): Promise<Date[]> {
  const visited: Date[] = [];
  for (;;) {
    const t = runner.nextWakeup();
    if (!t || t > until) break;
    await between?.(t);
    clock.advanceTo(t);
    await runner.idle();
    visited.push(t);
  }
  return visited;
}

/** DestFolder: one folder of a local destination as the filesystem shows it. */
export interface DestFolder {
  folder: string;
  files: string[];
  manifest?: { manual?: boolean; files: Array<{ name: string; kind: string; created: string; seq: number }>; created: string };
}

/** readDestination: every folder directly under `root` with its files (sorted) and parsed manifest. */
export function readDestination(root: string): DestFolder[] {
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch {
    return [];
  }
  return names.map((folder) => {
    const path = join(root, folder);
    expect(statSync(path).isDirectory(), `${folder} at the top of the destination is a chain folder`).toBe(true);
    const files = readdirSync(path).sort();
    const manifest = files.includes('manifest.json') ? (JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as DestFolder['manifest']) : undefined;
    return { folder, files, ...(manifest ? { manifest } : {}) };
  });
}

/** expectWholeChains: every non-empty folder is a chain whose files are exactly its manifest's, plus manifest.json. */
export function expectWholeChains(folders: DestFolder[]): void {
  for (const f of folders) {
    if (f.files.length === 0) continue;
    expect(f.manifest, `${f.folder} has a manifest`).toBeDefined();
    expect(f.files).toEqual([...f.manifest!.files.map((x) => x.name), 'manifest.json'].sort());
  }
}

/** Gate: a promise a test settles by hand. */
export interface Gate<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function gate<T>(): Gate<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A backup job the double is working on (or has finished). */
export interface HeldBackup {
  job: BackupJob;
  ctx: RunContext;
  gate: Gate<BackupOutcome>;
  /** Settle as a success with a file of `fileKind` (default: the job's kind). */
  succeed(fileKind?: string): void;
  fail(err: unknown): void;
}

/**
 * HeldExecutors: a test-double Executors for the runner's own rules. Each backup and
 * restore starts, is recorded, and waits until the test settles it; a backup whose
 * signal aborts rejects with AbortedError, as the real ones do. Retention is recorded.
 */
export class HeldExecutors implements Executors {
  readonly backups: HeldBackup[] = [];
  readonly restores: Array<{ job: RestoreJob; ctx: RunContext; gate: Gate<RestoreOutcome> }> = [];
  readonly retentions: Array<{ task: TaskDefinition; now: Date }> = [];
  #seq = 0;
  readonly #auto: boolean;

  /** `auto`: every backup succeeds at once (for driving schedules); otherwise the test settles each. */
  constructor(options: { auto?: boolean } = {}) {
    this.#auto = options.auto === true;
  }

  backup(job: BackupJob, ctx: RunContext): Promise<BackupOutcome> {
    const g = gate<BackupOutcome>();
    const n = this.#seq++;
    ctx.signal.addEventListener('abort', () => g.reject(new AbortedError('backup aborted')), { once: true });
    const held: HeldBackup = {
      job: { ...job },
      ctx,
      gate: g,
      succeed: (fileKind) => g.resolve({
        chain: `chain-${job.database}`,
        file: `file-${n}`,
        fileKind: fileKind ?? `${job.kind}-snapshot`,
        txnId: n + 1,
        bytesWritten: 10,
        plaintextBytes: 20,
        destinations: [],
      }),
      fail: (err) => g.reject(err),
    };
    this.backups.push(held);
    if (this.#auto) held.succeed();
    return g.promise;
  }

  /** When set, retention throws it (the runner records it; the backup still succeeds). */
  retentionFailure?: Error;

  async retention(task: TaskDefinition, now: Date): Promise<{ removed: string[]; errors: string[] }> {
    this.retentions.push({ task, now });
    if (this.retentionFailure) throw this.retentionFailure;
    return { removed: [], errors: [] };
  }

  restore(job: RestoreJob, ctx: RunContext): Promise<RestoreOutcome> {
    const g = gate<RestoreOutcome>();
    ctx.signal.addEventListener('abort', () => g.reject(new AbortedError('restore aborted')), { once: true });
    this.restores.push({ job, ctx, gate: g });
    return g.promise;
  }
}

/** flush: let promise callbacks of settled executors run (the runner's bookkeeping is async). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
