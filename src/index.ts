/**
 * pagevault: online backup and restore for LMDB databases written with lmdb-js.
 *
 * The public API, re-exported from the modules that own each part. Nothing else in
 * `src/` is public; import from `pagevault` only.
 *
 * @example
 * ```ts
 * import { envInfo, openDatabase } from 'pagevault';
 * const info = await envInfo('./data');          // page size, last txn, named databases…
 * const db = openDatabase('./docs');              // the embedded document database
 * await db.put('Users', null, { name: 'Ann' });   // → { id: 'users/1-A', etag: 1 }
 * ```
 */
export * from './errors.js';
export * from './snapshot/index.js';
export * from './docdb/index.js';
export * from './generate/index.js';
export * from './backup/index.js';
export * from './restore/index.js';
export * from './json/index.js';
export * from './sinks/index.js';
export { generateKeyFile, loadKey, LoadedKey } from './keys/index.js';
export type { KeySource } from './keys/index.js';
export { readBackupHeader, verifyBackupFile } from './format/index.js';
export type { BackupHeader, BackupKind, BackupFileSummary } from './format/index.js';
export { compressionCodecs } from './transforms/index.js';
export type { CompressionName } from './transforms/index.js';
export { backup, restore, verify } from './api.js';
export type { BackupOptions, RestoreOptions } from './api.js';
export { applyRetention, validateRetentionPolicy, MIN_RETENTION_MS, RETENTION_TOO_SHORT } from './retention/index.js';
export type { ChainSummary, ChainFileSummary, RetentionPolicy, RetentionDecision } from './retention/index.js';
export { nextRuns, validateCron, validateTimeZone } from './schedule/index.js';
export type { ScheduleTask, ScheduledRun, RunKind } from './schedule/index.js';
export * from './tasks/index.js';
export * from './server/index.js';
export * from './client/index.js';
