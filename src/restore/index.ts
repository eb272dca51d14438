/**
 * restore: rebuilding environments from chains, and verifying chains. With snapshot/, the
 * only module allowed to use the native seam.
 */
export { restoreSnapshot, openChain, selectFiles } from './snapshot-restore.js';
export type { SnapshotRestoreOptions, SnapshotRestoreResult, RestoreProgress, ChainLocation } from './snapshot-restore.js';
export { verifyChain } from './verify.js';
export type { VerifyOptions, VerifyResult } from './verify.js';
export { restoreJson } from './json-restore.js';
export type { JsonRestoreOptions, JsonRestoreResult, JsonRestoreProgress } from './json-restore.js';
