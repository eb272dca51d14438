/**
 * retention: which backup chains a retention policy removes (issue 6). Owns the pure
 * policy function only; listing chains and deleting folders belong to the backup task
 * runner, which passes the chains and the clock in.
 */
export { applyRetention, validateRetentionPolicy, MIN_RETENTION_MS, RETENTION_TOO_SHORT } from './policy.js';
export type { ChainSummary, ChainFileSummary, RetentionPolicy, RetentionDecision } from './policy.js';
