/** tasks: periodic backup tasks, their runner, status records and the real executors (issue 6). */
export { validateTask, generatedTaskName, destinationScheme, DEFAULT_RETENTION } from './task.js';
export type { TaskDefinition, TaskInput, TaskContext, TaskEncryption, TaskType } from './task.js';
export { TaskRunner, DEFAULT_RESTORE_START_TIMEOUT_MS } from './runner.js';
export type { BackupJob, RestoreJob, RunContext, Executors, TaskRunnerOptions, TaskStatus, TaskStatusName, OneTimeBackup } from './runner.js';
export type { OperationRecord, OperationStatus, OperationProgress, BackupOutcome, RestoreOutcome, Trigger } from './operation.js';
export { systemClock, FakeClock } from './clock.js';
export type { Clock } from './clock.js';
export { loadState, saveState, HISTORY_LIMIT } from './state.js';
export type { PersistedState, TaskRunState, RunSummary } from './state.js';
export { createExecutors, checkDatabaseName, keyFor } from './executor.js';
export { applyRetentionOn, chainSummaries, removeChain } from './retention-run.js';
export type { RetentionRun } from './retention-run.js';
