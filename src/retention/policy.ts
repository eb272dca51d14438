/**
 * retention/policy: which backup chains a retention policy removes, as a pure function
 * (issue 6, "Retention"; RavenDB's "retention period"). No I/O and no clock: the caller
 * lists the chains (chain-store.ts listAllChains + the manifests), passes `now`, and
 * deletes the folders marked `remove` on every destination during the next scheduled
 * backup.
 *
 * Rules, applied to each chain in this order (the first that matches decides):
 *   1. a manual (one-time) backup is never subject to retention;
 *   2. disabled retention keeps everything;
 *   3. a chain with no files, or with a file time that does not parse, is kept (we cannot
 *      tell its age, and deleting data we cannot judge is the wrong default);
 *   4. the newest complete chain of each (database, type) is kept whatever its age;
 *      "newest" means the chain whose newest file is latest (ties: the later folder name);
 *      incomplete and manual chains do not count, so an unfinished newest chain never
 *      protects itself and never un-protects the last good one;
 *   5. a chain is removed once its NEWEST file is older than the period
 *      (`now - newest.created > minimumAgeMs`; exactly the period is still kept). Judging
 *      by the newest file makes it work for incremental-only schedules, where one chain
 *      grows for as long as the task runs;
 *   6. otherwise it is kept.
 * Only whole chains are removed: an incremental depends on every file before it.
 */
import { InvalidArgumentError } from '../errors.js';

/** MIN_RETENTION_MS: the shortest retention period accepted (1 hour). */
export const MIN_RETENTION_MS = 60 * 60 * 1000;

/** RETENTION_TOO_SHORT: the stable start of the message for a period under MIN_RETENTION_MS. */
export const RETENTION_TOO_SHORT = 'retention too short';

/** ChainFileSummary: the part of a manifest file entry retention looks at. */
export interface ChainFileSummary {
  name: string;
  /** ISO 8601 time the file was completed (manifest `created`). */
  created: string;
  kind: string;
}

/** ChainSummary: one chain folder as retention sees it. */
export interface ChainSummary {
  /** The chain folder (the identity returned in the decision). */
  folder: string;
  database: string;
  type: 'snapshot' | 'backup';
  files: ChainFileSummary[];
  /** A one-time manual backup: never subject to retention. Default false. */
  manual?: boolean;
  /** False for a chain whose last run did not finish. Default true. */
  complete?: boolean;
}

/** RetentionPolicy: `minimumAgeMs` is the retention period, at least MIN_RETENTION_MS when enabled. */
export interface RetentionPolicy {
  enabled: boolean;
  minimumAgeMs: number;
}

/** RetentionDecision: what to do with one chain, and why (for logs and the status view). */
export interface RetentionDecision {
  folder: string;
  action: 'keep' | 'remove';
  reason: string;
}

/**
 * validateRetentionPolicy: throws InvalidArgumentError for a policy that is not an object,
 * a non-boolean `enabled`, a negative or non-finite period, and (when enabled) a period
 * under MIN_RETENTION_MS, whose message starts with RETENTION_TOO_SHORT. A disabled
 * policy may carry any non-negative period (it is ignored).
 */
export function validateRetentionPolicy(policy: RetentionPolicy): void {
  if (policy === null || typeof policy !== 'object') {
    throw new InvalidArgumentError(`Expected an object for retention policy but received ${String(policy)}`);
  }
  if (typeof policy.enabled !== 'boolean') {
    throw new InvalidArgumentError(`Expected a boolean for retention.enabled but received ${JSON.stringify(policy.enabled)}`);
  }
  const p = policy.minimumAgeMs;
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0) {
    throw new InvalidArgumentError(`Expected a finite, non-negative number of milliseconds for retention.minimumAgeMs but received ${String(p)}`);
  }
  if (policy.enabled && p < MIN_RETENTION_MS) {
    throw new InvalidArgumentError(`${RETENTION_TOO_SHORT}: the retention period must be at least 1 hour (${MIN_RETENTION_MS} ms) but received ${p} ms`);
  }
}

/** formatDuration: `3d 4h 5m 6s`, `1h`, `250ms`; for reasons people read. @internal */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const units: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]];
  let rest = Math.floor(ms);
  const parts: string[] = [];
  for (const [u, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${u}`);
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join(' ');
}

/** Parse a strict-enough ISO time; undefined when it does not parse. */
function parseTime(iso: unknown): number | undefined {
  if (typeof iso !== 'string' || iso === '') return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

interface Judged {
  chain: ChainSummary;
  /** Newest file time (ms) and that file, when every file's time parses. */
  newest?: { at: number; file: ChainFileSummary };
  /** Why the chain cannot be judged, when it cannot. */
  unjudgeable?: string;
}

function judge(chain: ChainSummary): Judged {
  const files = Array.isArray(chain.files) ? chain.files : [];
  if (files.length === 0) return { chain, unjudgeable: 'kept: the chain has no files, so its age is unknown' };
  let newest: { at: number; file: ChainFileSummary } | undefined;
  for (const file of files) {
    const at = parseTime(file?.created);
    if (at === undefined) {
      return { chain, unjudgeable: `kept: file ${String(file?.name)} has an unparsable time ${JSON.stringify(file?.created)}, so the chain's age is unknown` };
    }
    if (!newest || at > newest.at) newest = { at, file };
  }
  return { chain, newest };
}

const groupKey = (c: ChainSummary): string => `${c.type}\u0000${c.database}`;

/**
 * applyRetention: one decision per chain, in the order of `chains`, under `policy` at
 * `now` (see the rules at the top of this file). Pure: does not mutate its arguments.
 * Throws InvalidArgumentError for an invalid policy (validateRetentionPolicy) or an
 * invalid `now`.
 *
 * @example
 * ```ts
 * const decisions = applyRetention(chains, { enabled: true, minimumAgeMs: 7 * 86_400_000 }, new Date());
 * for (const d of decisions) if (d.action === 'remove') await removeChain(d.folder);
 * ```
 */
export function applyRetention(chains: ChainSummary[], policy: RetentionPolicy, now: Date): RetentionDecision[] {
  validateRetentionPolicy(policy);
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new InvalidArgumentError(`Expected a valid Date for now but received ${String(now)}`);
  }
  if (!Array.isArray(chains)) throw new InvalidArgumentError(`Expected an array of chains but received ${String(chains)}`);

  const judged = chains.map(judge);

  // The newest complete, non-manual, judgeable chain per (database, type) is protected.
  const protectedChains = new Map<string, Judged>();
  for (const j of judged) {
    if (j.chain.manual || j.chain.complete === false || !j.newest) continue;
    const key = groupKey(j.chain);
    const best = protectedChains.get(key);
    if (!best || j.newest.at > best.newest!.at || (j.newest.at === best.newest!.at && j.chain.folder > best.chain.folder)) {
      protectedChains.set(key, j);
    }
  }

  const nowMs = now.getTime();
  const period = formatDuration(policy.minimumAgeMs);
  return judged.map((j): RetentionDecision => {
    const { folder } = j.chain;
    if (j.chain.manual) return { folder, action: 'keep', reason: 'kept: manual (one-time) backups are not subject to retention' };
    if (!policy.enabled) return { folder, action: 'keep', reason: 'kept: retention is disabled' };
    if (!j.newest) return { folder, action: 'keep', reason: j.unjudgeable! };
    if (protectedChains.get(groupKey(j.chain)) === j) {
      return { folder, action: 'keep', reason: `kept: newest complete ${j.chain.type} chain of database ${j.chain.database}` };
    }
    const age = nowMs - j.newest.at;
    const newestIso = new Date(j.newest.at).toISOString();
    if (age > policy.minimumAgeMs) {
      return { folder, action: 'remove', reason: `removed: newest file ${j.newest.file.name} (${newestIso}) is ${formatDuration(age)} old, older than the retention period of ${period}` };
    }
    return { folder, action: 'keep', reason: `kept: newest file ${j.newest.file.name} (${newestIso}) is within the retention period of ${period}` };
  });
}
