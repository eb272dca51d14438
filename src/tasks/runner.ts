/**
 * runner: runs periodic backup tasks, "backup now", one-time backups and restores, one
 * backup per database at a time (issue 6). It owns the tasks and their run state
 * (persisted with state.ts), decides when a task is due (schedule.ts, on an injected
 * clock), queues what cannot start yet, and keeps an operation record for each run.
 *
 * The work itself is done by injected executors (executor.ts does real backups, restores
 * and retention), so the runner's rules are testable on their own and the server, the
 * embedded API and the tests share them.
 *
 * Rules:
 * - Scheduling: on each wake-up (`tick`), a task is due when a full or incremental
 *   instant of its schedule fell in (lastCheck, now]. Several missed instants (the server
 *   was down or busy) fold into one run: a full if any full was missed, else one
 *   incremental. A task whose first full has not completed runs a full; a run that
 *   fell due while that first full was running, and is a full only for that
 *   reason, runs as an incremental if the first full has completed when its turn comes.
 * - Delayed tasks skip scheduled instants before `delayedUntil`; backup now still runs.
 * - One backup per database: a run that is due while another backup of the same database
 *   is running or queued waits in that database's queue (its record says behind what).
 *   A due run of a task and kind already queued is folded into the queued one
 *   (`coalesced`), and a due full replaces a queued incremental of the same task: the
 *   queued run covers what the due one would do, so nothing is lost.
 * - Retention runs after each successful scheduled backup, on every destination of the
 *   task; manual (one-time) backups are never subject to it.
 * - Restores run one at a time; a restore waits up to its start timeout for the one
 *   before it, then fails with PAGEVAULT_ERR_RESTORE_BUSY.
 * - Cancelling a queued operation removes it; cancelling a running one aborts it (the
 *   backup leaves no file that looks complete).
 * - On start, operations the state file says were queued or running (the process died)
 *   are recorded as failed with PAGEVAULT_ERR_INTERRUPTED.
 */
import { randomUUID } from 'node:crypto';
import { AbortedError, errorInfo, InterruptedError, InvalidArgumentError, IoError, NotFoundError, RestoreBusyError } from '../errors.js';
import { nextRuns, type RunKind } from '../schedule/index.js';
import type { Clock } from './clock.js';
import { type BackupOutcome, type OperationProgress, type OperationRecord, type RestoreOutcome, type Trigger } from './operation.js';
import { emptyState, HISTORY_LIMIT, loadState, saveState, type PersistedState, type RunSummary, type TaskRunState } from './state.js';
import { validateTask, type TaskContext, type TaskDefinition, type TaskEncryption, type TaskInput, type TaskType } from './task.js';

/** BackupJob: one backup for an executor. */
export interface BackupJob {
  database: string;
  type: TaskType;
  kind: RunKind;
  destinations: string[];
  encryption: TaskEncryption;
  compression?: 'zstd' | 'gzip' | 'none';
  level?: number;
  /** A one-time backup: its chain is marked manual (no retention; tasks never extend it). */
  manual: boolean;
}

/** RestoreJob: one restore into a new hosted database. */
export interface RestoreJob {
  /** `<destination URL or folder>/<chain folder>`. */
  source: string;
  /** Name of the new database; it must not exist. */
  database: string;
  /** A file name or transaction id of the chain; default the last file. */
  upto?: string | number;
  /** Restore a compacted copy. */
  defrag?: boolean;
  encryption?: TaskEncryption;
}

/** RunContext: what an executor gets besides its job. */
export interface RunContext {
  signal: AbortSignal;
  onProgress(progress: OperationProgress): void;
}

/**
 * Executors: the work. Each resolves with its outcome or rejects with a PagevaultError;
 * when `signal` aborts it rejects (AbortedError) and leaves nothing that looks complete.
 */
export interface Executors {
  backup(job: BackupJob, ctx: RunContext): Promise<BackupOutcome>;
  /** Apply the task's retention on each of its destinations at `now`. */
  retention(task: TaskDefinition, now: Date): Promise<{ removed: string[]; errors: string[] }>;
  restore(job: RestoreJob, ctx: RunContext): Promise<RestoreOutcome>;
  /** Optional: remove what a backup killed mid-write left in `destinations` (partial files); returns what was removed. */
  sweep?(destinations: string[]): Promise<string[]>;
}

/** TaskRunnerOptions: see TaskRunner. */
export interface TaskRunnerOptions {
  clock: Clock;
  executors: Executors;
  /** State file; absent: state lives in memory only (tests, embedded use). */
  stateFile?: string;
  /** Facts for task validation (hosted databases, destination schemes, key ids). */
  context(task: TaskInput, existing?: TaskDefinition): Promise<TaskContext> | TaskContext;
  /** Called after every change of an operation or task state (status streams, logs). */
  onChange?(op?: OperationRecord): void;
  /** Called when the state file could not be written after a run's status change (the state stays in memory and is written at the next save that works). */
  onSaveError?(err: unknown): void;
}

/** TaskStatusName: active, disabled, running or error (the last run failed). */
export type TaskStatusName = 'active' | 'disabled' | 'running' | 'error';

/** TaskStatus: the status view of one task. */
export interface TaskStatus {
  task: TaskDefinition;
  status: TaskStatusName;
  destinations: string[];
  lastFull?: RunSummary;
  lastIncremental?: RunSummary;
  lastError?: TaskRunState['lastError'];
  nextBackup?: { at: string; kind: RunKind };
  delayedUntil?: string;
  retention: TaskDefinition['retention'];
  /** The running operation of this task (with progress), if any. */
  running?: OperationRecord;
  /** Queued operations of this task. */
  queued: OperationRecord[];
}

/** OneTimeBackup: a manual backup: no name, no retention, identified by its time. */
export interface OneTimeBackup {
  database: string;
  type?: TaskType;
  destinations: string[];
  incremental?: boolean;
  encryption?: TaskEncryption;
  compression?: 'zstd' | 'gzip' | 'none';
  level?: number;
}

interface DbQueue {
  running?: OperationRecord;
  /**
   * `firstFull`: a scheduled run that is a full only because the task had no full yet when
   * it fell due; if the task's first full completes while it waits, it runs as an
   * incremental instead (see #pump).
   */
  waiting: Array<{ op: OperationRecord; job: BackupJob; task?: TaskDefinition; firstFull?: boolean }>;
}

/** DEFAULT_RESTORE_START_TIMEOUT_MS: how long a restore waits for the one before it. */
export const DEFAULT_RESTORE_START_TIMEOUT_MS = 60_000;

/** TaskRunner: see the module comment. Create with `new`, then `start()`; `stop()` before exit. */
export class TaskRunner {
  readonly #o: TaskRunnerOptions;
  readonly #state: PersistedState;
  readonly #queues = new Map<string, DbQueue>();
  readonly #controllers = new Map<string, AbortController>();
  readonly #restoreQueue: Array<{ op: OperationRecord; job: RestoreJob; cancelTimer: () => void }> = [];
  #restoreRunning?: OperationRecord;
  readonly #inflight = new Set<Promise<void>>();
  #cancelTimer?: () => void;
  #started = false;
  #stopped = false;
  /** Backups a dead process left running: their destinations are swept at start(). */
  readonly #interrupted: OperationRecord[] = [];

  constructor(options: TaskRunnerOptions) {
    this.#o = options;
    this.#state = options.stateFile ? loadState(options.stateFile) : emptyState();
    const now = options.clock.now().toISOString();
    let interrupted = false;
    for (const op of this.#state.operations) {
      if (op.isRunning || op.status === 'queued') {
        const wasRunning = op.isRunning;
        Object.assign(op, {
          status: 'failed',
          isRunning: false,
          endedAt: now,
          progress: op.progress,
          error: errorInfo(new InterruptedError(wasRunning
            ? 'the server stopped while this operation was running; what it was writing was never added to a chain manifest, so no backup looks complete'
            : 'the server stopped before this queued operation started')),
        });
        if (op.taskId && this.#state.taskState[op.taskId]) this.#state.taskState[op.taskId].lastError = { at: now, operationId: op.id, ...op.error! };
        if (wasRunning && op.type === 'backup' && op.destinations?.length) this.#interrupted.push(op);
        interrupted = true;
      }
    }
    if (interrupted) this.#save();
  }

  // ---------- lifecycle ----------

  /** start: begin scheduling (the first tick runs now). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#sweepInterrupted();
    this.tick();
  }

  /** Remove the partial files of backups a dead process left running (recorded on each as `cleanedUp`). */
  #sweepInterrupted(): void {
    const sweep = this.#o.executors.sweep;
    if (!sweep || this.#interrupted.length === 0) return;
    const ops = this.#interrupted.splice(0);
    const p = (async () => {
      for (const op of ops) {
        try {
          op.cleanedUp = await sweep.call(this.#o.executors, op.destinations!);
        } catch (err) {
          op.cleanedUp = [`(the sweep failed: ${errorInfo(err).message})`];
        }
        this.#changed(op);
      }
    })().finally(() => this.#inflight.delete(p));
    this.#inflight.add(p);
  }

  /** stop: no more scheduling; cancel queued work, abort running work and wait for it to settle. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer?.();
    for (const q of this.#queues.values()) for (const w of q.waiting.splice(0)) this.#finish(w.op, 'cancelled', undefined, new AbortedError('the server is stopping'));
    for (const r of this.#restoreQueue.splice(0)) {
      r.cancelTimer();
      this.#finish(r.op, 'cancelled', undefined, new AbortedError('the server is stopping'));
    }
    for (const c of this.#controllers.values()) c.abort(new AbortedError('the server is stopping'));
    await this.idle();
  }

  /** idle: resolves when no operation is running or queued. */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  // ---------- tasks ----------

  listTasks(): TaskDefinition[] {
    return this.#state.tasks.map((t) => ({ ...t }));
  }

  getTask(id: string): TaskDefinition {
    const t = this.#state.tasks.find((x) => x.id === id || x.name === id);
    if (!t) throw new NotFoundError(`no task ${JSON.stringify(id)}`);
    return t;
  }

  async createTask(input: TaskInput): Promise<TaskDefinition> {
    const task = validateTask(input, await this.#o.context(input));
    if (this.#state.tasks.some((t) => t.name === task.name)) throw new InvalidArgumentError(`a task named ${JSON.stringify(task.name)} already exists`);
    this.#commit(() => {
      this.#state.tasks.push(task);
      this.#state.taskState[task.id] = { lastCheck: this.#o.clock.now().toISOString(), hasFullYet: false };
    });
    return { ...task };
  }

  async updateTask(id: string, input: TaskInput): Promise<TaskDefinition> {
    const existing = this.getTask(id);
    const task = validateTask(input, await this.#o.context(input, existing), existing);
    if (this.#state.tasks.some((t) => t.name === task.name && t.id !== task.id)) throw new InvalidArgumentError(`a task named ${JSON.stringify(task.name)} already exists`);
    this.#commit(() => {
      const st = this.#taskState(task.id);
      // A new database, type or destination set means new chains: the first run is a full again.
      if (existing.database !== task.database || existing.type !== task.type || existing.destinations.join('\n') !== task.destinations.join('\n')) st.hasFullYet = false;
      // Re-enabling starts the schedule from now: runs missed while disabled are not made up.
      if (!existing.enabled && task.enabled) st.lastCheck = this.#o.clock.now().toISOString();
      this.#state.tasks[this.#state.tasks.indexOf(existing)] = task;
    });
    return { ...task };
  }

  async setEnabled(id: string, enabled: boolean): Promise<TaskDefinition> {
    return this.updateTask(this.getTask(id).id, { enabled });
  }

  /** deleteTask: remove the task; its queued runs are cancelled, a running one finishes. Backups it wrote stay. */
  deleteTask(id: string): void {
    const task = this.getTask(id);
    this.#commit(() => {
      this.#state.tasks = this.#state.tasks.filter((t) => t.id !== task.id);
      delete this.#state.taskState[task.id];
    });
    for (const q of this.#queues.values()) {
      for (const w of q.waiting.filter((x) => x.op.taskId === task.id)) {
        q.waiting.splice(q.waiting.indexOf(w), 1);
        this.#finish(w.op, 'cancelled', undefined, new AbortedError('the task was deleted'));
      }
    }
  }

  /** delay: skip the task's scheduled runs until `until` (null: stop delaying). Backup now still works. */
  delay(id: string, until: Date | null): TaskStatus {
    const task = this.getTask(id);
    if (until !== null && (!(until instanceof Date) || Number.isNaN(until.getTime()))) throw new InvalidArgumentError(`Expected a valid date to delay until but received ${String(until)}`);
    this.#commit(() => {
      const st = this.#taskState(task.id);
      if (until === null) delete st.delayedUntil;
      else st.delayedUntil = until.toISOString();
    });
    return this.taskStatus(task.id);
  }

  // ---------- runs ----------

  /** backupNow: run the task at once (full or incremental), without touching its schedule. */
  backupNow(id: string, kind: RunKind): OperationRecord {
    if (kind !== 'full' && kind !== 'incremental') throw new InvalidArgumentError(`Expected "full" or "incremental" but received ${JSON.stringify(kind)}`);
    const task = this.getTask(id);
    return this.#enqueue(task, kind, 'backup-now');
  }

  /** oneTime: a manual backup outside any task. */
  oneTime(req: OneTimeBackup): OperationRecord {
    if (!req || typeof req.database !== 'string' || req.database === '') throw new InvalidArgumentError('Expected a database for the one-time backup');
    if (!Array.isArray(req.destinations) || req.destinations.length === 0) throw new InvalidArgumentError('Expected at least one destination for the one-time backup');
    const type = req.type ?? 'snapshot';
    if (type !== 'snapshot' && type !== 'backup') throw new InvalidArgumentError(`unknown backup type ${JSON.stringify(type)}: expected "snapshot" or "backup"`);
    const job: BackupJob = {
      database: req.database,
      type,
      kind: req.incremental ? 'incremental' : 'full',
      destinations: req.destinations,
      encryption: req.encryption ?? { mode: 'none' },
      ...(req.compression ? { compression: req.compression } : {}),
      ...(req.level !== undefined ? { level: req.level } : {}),
      manual: true,
    };
    const op = this.#newOp('backup', 'one-time', req.database, { backupType: type, kind: job.kind, destinations: [...job.destinations] });
    return this.#queue(op, job);
  }

  /** restore: restore a chain into a new hosted database, one restore at a time. */
  restore(job: RestoreJob, startTimeoutMs = DEFAULT_RESTORE_START_TIMEOUT_MS): OperationRecord {
    if (!job || typeof job.source !== 'string' || job.source === '') throw new InvalidArgumentError('Expected a source chain for the restore');
    if (typeof job.database !== 'string' || job.database === '') throw new InvalidArgumentError('Expected a name for the restored database');
    const op = this.#newOp('restore', 'restore', job.database, {});
    if (!this.#restoreRunning) {
      this.#runRestore(op, job);
      return { ...op };
    }
    op.queuedBehind = this.#restoreRunning.id;
    const cancelTimer = this.#o.clock.setTimer(startTimeoutMs, () => {
      const i = this.#restoreQueue.findIndex((r) => r.op.id === op.id);
      if (i < 0) return;
      this.#restoreQueue.splice(i, 1);
      this.#finish(op, 'failed', undefined, new RestoreBusyError(`another restore (${op.queuedBehind}) was still running after ${startTimeoutMs} ms; try again later or raise the start timeout`));
    });
    this.#restoreQueue.push({ op, job, cancelTimer });
    this.#changed(op);
    return { ...op };
  }

  /** cancel: stop a queued or running operation. A finished one is returned unchanged. */
  cancel(operationId: string): OperationRecord {
    const op = this.#findOp(operationId);
    if (op.status === 'queued') {
      for (const q of this.#queues.values()) {
        const i = q.waiting.findIndex((w) => w.op.id === op.id);
        if (i >= 0) q.waiting.splice(i, 1);
      }
      const r = this.#restoreQueue.findIndex((x) => x.op.id === op.id);
      if (r >= 0) this.#restoreQueue.splice(r, 1)[0].cancelTimer();
      this.#finish(op, 'cancelled', undefined, new AbortedError('cancelled before it started'));
    } else if (op.isRunning) {
      this.#controllers.get(op.id)?.abort(new AbortedError('cancelled'));
    }
    return { ...op };
  }

  // ---------- status ----------

  operation(id: string): OperationRecord {
    return { ...this.#findOp(id) };
  }

  /** operations: newest first; filtered by task or database; at most `limit` (default 100). */
  operations(filter: { taskId?: string; database?: string; limit?: number } = {}): OperationRecord[] {
    const taskId = filter.taskId ? this.getTask(filter.taskId).id : undefined;
    return this.#state.operations
      .filter((o) => (!taskId || o.taskId === taskId) && (!filter.database || o.database === filter.database))
      .slice(-(filter.limit ?? 100))
      .reverse()
      .map((o) => ({ ...o }));
  }

  taskStatus(id: string): TaskStatus {
    const task = this.getTask(id);
    const st = this.#taskState(task.id);
    const live = this.#state.operations.filter((o) => o.taskId === task.id && (o.isRunning || o.status === 'queued'));
    const running = live.find((o) => o.isRunning);
    const status: TaskStatusName = running ? 'running' : !task.enabled ? 'disabled' : st.lastError ? 'error' : 'active';
    const next = task.enabled ? this.#nextRun(task, st, this.#o.clock.now()) : undefined;
    return {
      task: { ...task },
      status,
      destinations: [...task.destinations],
      ...(st.lastFull ? { lastFull: st.lastFull } : {}),
      ...(st.lastIncremental ? { lastIncremental: st.lastIncremental } : {}),
      ...(st.lastError ? { lastError: st.lastError } : {}),
      ...(next ? { nextBackup: { at: next.at.toISOString(), kind: next.kind } } : {}),
      ...(st.delayedUntil ? { delayedUntil: st.delayedUntil } : {}),
      retention: task.retention,
      ...(running ? { running: { ...running } } : {}),
      queued: live.filter((o) => o.status === 'queued').map((o) => ({ ...o })),
    };
  }

  allStatus(): TaskStatus[] {
    return this.#state.tasks.map((t) => this.taskStatus(t.id));
  }

  // ---------- scheduling ----------

  /**
   * tick: enqueue every enabled task that is due at the clock's now, then arm the timer
   * for the next instant. Called by the timer; tests may call it after moving a FakeClock.
   */
  tick(): void {
    if (this.#stopped) return;
    const now = this.#o.clock.now();
    for (const task of this.#state.tasks) {
      if (!task.enabled) continue;
      const st = this.#taskState(task.id);
      const due = this.#dueKind(task, st, new Date(st.lastCheck), now);
      st.lastCheck = now.toISOString();
      if (due) this.#enqueue(task, due.kind, 'schedule', due.firstFull);
    }
    this.#save();
    this.#arm();
  }

  /** nextWakeup: the next instant any enabled task is due, if any. */
  nextWakeup(): Date | undefined {
    const now = this.#o.clock.now();
    let best: Date | undefined;
    for (const task of this.#state.tasks) {
      if (!task.enabled) continue;
      const next = this.#nextRun(task, this.#taskState(task.id), now);
      if (next && (!best || next.at < best)) best = next.at;
    }
    return best;
  }

  #arm(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    if (!this.#started || this.#stopped) return;
    const next = this.nextWakeup();
    if (!next) return;
    this.#cancelTimer = this.#o.clock.setTimer(next.getTime() - this.#o.clock.now().getTime(), () => this.tick());
  }

  #schedule(task: TaskDefinition, st: TaskRunState): Parameters<typeof nextRuns>[0] {
    return {
      fullCron: task.fullCron,
      incrementalCron: task.incrementalCron,
      timeZone: task.timeZone,
      hasFullYet: st.hasFullYet,
      ...(st.delayedUntil ? { delayedUntil: new Date(st.delayedUntil) } : {}),
    };
  }

  #nextRun(task: TaskDefinition, st: TaskRunState, after: Date): { at: Date; kind: RunKind } | undefined {
    // A task with a run queued for its first full still shows "full" next.
    return nextRuns(this.#schedule(task, st), after, 1)[0];
  }

  /**
   * The kind of the run due in (from, now], or undefined; missed instants fold into one run.
   * `firstFull`: a full only because the task has no full yet (its instant was an incremental one).
   */
  #dueKind(task: TaskDefinition, st: TaskRunState, from: Date, now: Date): { kind: RunKind; firstFull: boolean } | undefined {
    const sched = this.#schedule(task, st);
    const fullAt = task.fullCron ? nextRuns({ ...sched, incrementalCron: undefined, hasFullYet: true }, from, 1)[0]?.at : undefined;
    const incrAt = task.incrementalCron ? nextRuns({ ...sched, fullCron: undefined, hasFullYet: true }, from, 1)[0]?.at : undefined;
    const fullDue = fullAt !== undefined && fullAt <= now;
    const incrDue = incrAt !== undefined && incrAt <= now;
    if (fullDue) return { kind: 'full', firstFull: false };
    if (incrDue) return st.hasFullYet ? { kind: 'incremental', firstFull: false } : { kind: 'full', firstFull: true };
    return undefined;
  }

  // ---------- queues ----------

  #enqueue(task: TaskDefinition, kind: RunKind, trigger: Trigger, firstFull = false): OperationRecord {
    const q = this.#queue0(task.database);
    const same = q.waiting.find((w) => w.op.taskId === task.id);
    if (same && (same.job.kind === kind || same.job.kind === 'full')) {
      // A full that is asked for, or due by the full schedule, stays a full.
      if (kind === 'full' && !firstFull) same.firstFull = false;
      same.op.coalesced++;
      this.#changed(same.op);
      return { ...same.op };
    }
    if (same && kind === 'full') {
      // A due full supersedes a queued incremental of the same task.
      same.job.kind = 'full';
      same.op.kind = 'full';
      same.firstFull = firstFull;
      same.op.coalesced++;
      this.#changed(same.op);
      return { ...same.op };
    }
    const job: BackupJob = {
      database: task.database,
      type: task.type,
      kind,
      destinations: [...task.destinations],
      encryption: task.encryption,
      ...(task.compression ? { compression: task.compression } : {}),
      ...(task.level !== undefined ? { level: task.level } : {}),
      manual: false,
    };
    const op = this.#newOp('backup', trigger, task.database, { taskId: task.id, taskName: task.name, backupType: task.type, kind, destinations: [...task.destinations] });
    return this.#queue(op, job, task, firstFull);
  }

  #queue0(database: string): DbQueue {
    let q = this.#queues.get(database);
    if (!q) this.#queues.set(database, (q = { waiting: [] }));
    return q;
  }

  #queue(op: OperationRecord, job: BackupJob, task?: TaskDefinition, firstFull = false): OperationRecord {
    if (this.#stopped) throw new AbortedError('the server is stopping');
    const q = this.#queue0(job.database);
    if (q.running || q.waiting.length > 0) op.queuedBehind = (q.waiting.at(-1)?.op ?? q.running)!.id;
    q.waiting.push({ op, job, task, firstFull });
    this.#changed(op);
    this.#pump(job.database);
    return { ...op };
  }

  #pump(database: string): void {
    const q = this.#queue0(database);
    if (q.running || this.#stopped) return;
    const next = q.waiting.shift();
    if (!next) return;
    // The task's first full completed while this run waited (it was queued behind it):
    // extend that chain instead of starting a second one at once.
    if (next.firstFull && next.task && this.#state.taskState[next.task.id]?.hasFullYet) {
      next.job.kind = 'incremental';
      next.op.kind = 'incremental';
    }
    q.running = next.op;
    const p = this.#runBackup(next.op, next.job, next.task).finally(() => {
      q.running = undefined;
      this.#inflight.delete(p);
      this.#pump(database);
    });
    this.#inflight.add(p);
  }

  async #runBackup(op: OperationRecord, job: BackupJob, task: TaskDefinition | undefined): Promise<void> {
    const controller = new AbortController();
    this.#controllers.set(op.id, controller);
    this.#begin(op);
    try {
      const outcome = await this.#o.executors.backup(job, { signal: controller.signal, onProgress: (p) => this.#progress(op, p) });
      const live = task && this.#state.tasks.find((t) => t.id === task.id);
      if (live && op.trigger === 'schedule' && live.retention.enabled) {
        try {
          outcome.retention = await this.#o.executors.retention(live, this.#o.clock.now());
        } catch (err) {
          outcome.retention = { removed: [], errors: [errorInfo(err).message] };
        }
      }
      this.#finish(op, 'succeeded', outcome);
    } catch (err) {
      this.#finish(op, controller.signal.aborted ? 'cancelled' : 'failed', undefined, err);
    } finally {
      this.#controllers.delete(op.id);
    }
  }

  #runRestore(op: OperationRecord, job: RestoreJob): void {
    this.#restoreRunning = op;
    const controller = new AbortController();
    this.#controllers.set(op.id, controller);
    this.#begin(op);
    const p = this.#o.executors
      .restore(job, { signal: controller.signal, onProgress: (pr) => this.#progress(op, pr) })
      .then(
        (outcome) => this.#finish(op, 'succeeded', outcome),
        (err) => this.#finish(op, controller.signal.aborted ? 'cancelled' : 'failed', undefined, err),
      )
      .finally(() => {
        this.#controllers.delete(op.id);
        this.#restoreRunning = undefined;
        this.#inflight.delete(p);
        const next = this.#restoreQueue.shift();
        if (next && !this.#stopped) {
          next.cancelTimer();
          this.#runRestore(next.op, next.job);
        }
      });
    this.#inflight.add(p);
  }

  // ---------- records ----------

  #newOp(type: OperationRecord['type'], trigger: Trigger, database: string, extra: Partial<OperationRecord>): OperationRecord {
    const op: OperationRecord = {
      id: randomUUID(),
      type,
      trigger,
      database,
      ...extra,
      status: 'queued',
      isRunning: false,
      queuedAt: this.#o.clock.now().toISOString(),
      coalesced: 0,
    };
    this.#state.operations.push(op);
    return op;
  }

  #begin(op: OperationRecord): void {
    op.status = 'running';
    op.isRunning = true;
    op.startedAt = this.#o.clock.now().toISOString();
    this.#changed(op);
  }

  #progress(op: OperationRecord, p: OperationProgress): void {
    op.progress = p;
    this.#o.onChange?.(op);
  }

  #finish(op: OperationRecord, status: 'succeeded' | 'failed' | 'cancelled', result?: BackupOutcome | RestoreOutcome, err?: unknown): void {
    const now = this.#o.clock.now();
    op.status = status;
    op.isRunning = false;
    op.endedAt = now.toISOString();
    if (op.startedAt) op.durationMs = now.getTime() - Date.parse(op.startedAt);
    if (result) op.result = result;
    if (err !== undefined) op.error = errorInfo(err);
    const st = op.taskId ? this.#state.taskState[op.taskId] : undefined;
    if (st && op.type === 'backup') {
      if (status === 'succeeded') {
        const r = result as BackupOutcome;
        const summary: RunSummary = {
          at: op.endedAt,
          operationId: op.id,
          fileKind: r.fileKind,
          chain: r.chain,
          file: r.file,
          durationMs: op.durationMs ?? 0,
          txnId: r.txnId,
          ...(r.pinnedMs !== undefined ? { pinnedMs: r.pinnedMs } : {}),
        };
        if (r.fileKind.startsWith('full-')) {
          st.lastFull = summary;
          st.hasFullYet = true;
        } else st.lastIncremental = summary;
        delete st.lastError;
      } else if (status === 'failed') {
        st.lastError = { at: op.endedAt, operationId: op.id, ...op.error! };
      }
    }
    this.#trimHistory();
    this.#changed(op);
  }

  /** Keep the newest HISTORY_LIMIT finished operations in memory too, as the state file does (a server runs for months). */
  #trimHistory(): void {
    const finished = this.#state.operations.filter((o) => !o.isRunning && o.status !== 'queued');
    if (finished.length <= HISTORY_LIMIT) return;
    const dropped = new Set(finished.slice(0, finished.length - HISTORY_LIMIT));
    this.#state.operations = this.#state.operations.filter((o) => !dropped.has(o));
  }

  #findOp(id: string): OperationRecord {
    const op = this.#state.operations.find((o) => o.id === id);
    if (!op) throw new NotFoundError(`no operation ${JSON.stringify(id)}`);
    return op;
  }

  #taskState(id: string): TaskRunState {
    let st = this.#state.taskState[id];
    if (!st) this.#state.taskState[id] = st = { lastCheck: this.#o.clock.now().toISOString(), hasFullYet: false };
    return st;
  }

  #changed(op?: OperationRecord): void {
    this.#save();
    if (this.#started && !op) this.#arm();
    this.#o.onChange?.(op);
  }

  /**
   * #commit: apply a change a caller asked for (create, update, delete, delay) and write it
   * through; if the state file cannot be written, undo the change and throw, so the caller
   * never sees a change that a restart would lose.
   */
  #commit(change: () => void): void {
    const before = { tasks: [...this.#state.tasks], taskState: structuredClone(this.#state.taskState) };
    change();
    try {
      if (this.#o.stateFile) saveState(this.#o.stateFile, this.#state);
    } catch (err) {
      this.#state.tasks = before.tasks;
      this.#state.taskState = before.taskState;
      throw err instanceof IoError ? err : new IoError(`cannot write the server state: ${(err as Error).message}`, { cause: err });
    }
    if (this.#started) this.#arm();
    this.#o.onChange?.();
  }

  /**
   * #save: write the state after the runner's own changes (ticks, operation status). A
   * failure (a full disk) must not crash a timer callback or lose the run: the state stays
   * in memory, is written at the next save that works, and the error is reported.
   */
  #save(): void {
    if (!this.#o.stateFile) return;
    try {
      saveState(this.#o.stateFile, this.#state);
    } catch (err) {
      this.#o.onSaveError?.(err);
    }
  }
}
