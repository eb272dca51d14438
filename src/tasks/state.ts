/**
 * state: what the task runner remembers across restarts — the tasks, each task's run
 * state (last full, last incremental, last error, delay, where scheduling last looked)
 * and the operation history — in one JSON file, `<data dir>/.pagevault/state.json`.
 *
 * Every write goes to `state.json.tmp`, is fsynced, then renamed over the old file (and
 * the folder fsynced), so a crash leaves either the old or the new state, never a torn
 * one. The file is small (history is capped), so rewriting it on each status change is
 * cheap; progress updates of a running operation are kept in memory only.
 */
import { readFileSync } from 'node:fs';
import { IoError } from '../errors.js';
import { writeFileAtomicSync } from '../util/files.js';
import type { OperationRecord } from './operation.js';
import type { TaskDefinition } from './task.js';

/** RunSummary: one finished backup file of a task, for "last full" / "last incremental". */
export interface RunSummary {
  at: string;
  operationId: string;
  fileKind: string;
  chain: string;
  file: string;
  durationMs: number;
  txnId: number;
  pinnedMs?: number;
}

/** TaskRunState: what the runner knows of one task beyond its definition. */
export interface TaskRunState {
  /** Scheduled runs at or before this instant have been considered (ISO). */
  lastCheck: string;
  /** A full of this task has completed (an incremental-only task's first run is a full until then). */
  hasFullYet: boolean;
  lastFull?: RunSummary;
  lastIncremental?: RunSummary;
  /** The newest failed run, cleared by the next success. */
  lastError?: { at: string; operationId: string; code: string; message: string };
  /** Scheduled runs before this instant are skipped (ISO). */
  delayedUntil?: string;
}

/** PersistedState: the whole file. */
export interface PersistedState {
  version: 1;
  tasks: TaskDefinition[];
  taskState: Record<string, TaskRunState>;
  /** Finished operations, newest last, capped at HISTORY_LIMIT; plus any queued or running. */
  operations: OperationRecord[];
}

/** HISTORY_LIMIT: finished operations kept in the state file. */
export const HISTORY_LIMIT = 1000;

export function emptyState(): PersistedState {
  return { version: 1, tasks: [], taskState: {}, operations: [] };
}

/** loadState: the state in `file`, or an empty one when the file does not exist. Throws IoError for an unreadable or invalid file. */
export function loadState(file: string): PersistedState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw new IoError(`cannot read the server state ${file}: ${(err as Error).message}`, { cause: err });
  }
  let state: PersistedState;
  try {
    state = JSON.parse(text) as PersistedState;
  } catch (err) {
    throw new IoError(`the server state ${file} is not valid JSON (${(err as Error).message}); move it away to start with no tasks`, { cause: err });
  }
  if (state?.version !== 1 || !Array.isArray(state.tasks) || !Array.isArray(state.operations) || typeof state.taskState !== 'object' || state.taskState === null) {
    throw new IoError(`the server state ${file} is not a pagevault state file of version 1`);
  }
  return state;
}

/** saveState: write `state` to `file` atomically (tmp, fsync, rename, fsync folder). */
export function saveState(file: string, state: PersistedState): void {
  const finished = state.operations.filter((o) => !o.isRunning && o.status !== 'queued');
  const live = state.operations.filter((o) => o.isRunning || o.status === 'queued');
  const trimmed: PersistedState = { ...state, operations: [...finished.slice(-HISTORY_LIMIT), ...live] };
  writeFileAtomicSync(file, `${JSON.stringify(trimmed, null, 1)}\n`);
}
