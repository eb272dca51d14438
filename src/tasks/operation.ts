/**
 * operation: the status record of one backup or restore the runner executes (issue 6,
 * "Status and history"). It is plain data (JSON over HTTP, kept in the state file): while
 * the operation runs, `isRunning` is true and `progress` is updated in memory; when it
 * ends, `status`, `endedAt`, `durationMs` and `result` or `error` are set once and the
 * record joins the history.
 */
import type { DestinationStatus } from '../sinks/fanout.js';
import type { RunKind } from '../schedule/index.js';

/** OperationStatus: queued → running → one of the three final states (or queued → cancelled/failed). */
export type OperationStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Trigger: why the operation exists. */
export type Trigger = 'schedule' | 'backup-now' | 'one-time' | 'restore';

/** OperationProgress: counters of a running operation (units depend on `phase`). */
export interface OperationProgress {
  phase: string;
  done: number;
  total: number;
  unit: string;
  bytesIn: number;
  bytesOut: number;
  elapsedMs: number;
  /** Backups: bytes each destination has taken so far. */
  destinations?: Array<{ destination: string; bytes: number }>;
}

/** BackupOutcome: what a finished backup wrote (a summary of the backup result). */
export interface BackupOutcome {
  chain: string;
  file: string;
  fileKind: string;
  txnId: number;
  pinnedMs?: number;
  bytesWritten: number;
  plaintextBytes: number;
  fullReason?: string;
  destinations: DestinationStatus[];
  /** Retention run after a scheduled backup: chains removed per destination, and failures. */
  retention?: { removed: string[]; errors: string[] };
}

/** RestoreOutcome: what a finished restore produced. */
export interface RestoreOutcome {
  database: string;
  path: string;
  files: number;
  txnId?: number;
}

/** OperationRecord: see the module comment. Times are ISO strings. */
export interface OperationRecord {
  id: string;
  type: 'backup' | 'restore';
  trigger: Trigger;
  database: string;
  taskId?: string;
  taskName?: string;
  backupType?: 'snapshot' | 'backup';
  /** The kind asked for; the file written may be a full when no chain could be extended (see result.fullReason). */
  kind?: RunKind;
  status: OperationStatus;
  isRunning: boolean;
  queuedAt: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  /** Why it waited: the operation it was queued behind. */
  queuedBehind?: string;
  /** Later due runs of the same task and kind folded into this queued one (they would repeat it). */
  coalesced: number;
  progress?: OperationProgress;
  result?: BackupOutcome | RestoreOutcome;
  error?: { code: string; message: string };
  /** Backups: the destinations written to. */
  destinations?: string[];
  /** An interrupted backup: abandoned partial files removed from its local destinations at the next start. */
  cleanedUp?: string[];
}
