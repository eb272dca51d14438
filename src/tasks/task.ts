/**
 * task: the periodic backup task (issue 6, "Tasks and scheduling") as data, and its
 * validation. A task is what a user configures once: which database, which backup type,
 * when (cron, in a time zone), where (destinations), how long to keep (retention) and
 * with which key. `validateTask` turns untrusted input (HTTP body, CLI flags, the state
 * file) into a normalized TaskDefinition or throws InvalidArgumentError saying what is
 * wrong; it is pure apart from reading nothing: key checks take the key ids as input.
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { validateRetentionPolicy, type RetentionPolicy } from '../retention/index.js';
import { validateCron, validateTimeZone } from '../schedule/index.js';
import { redact } from '../sinks/registry.js';

/** TaskType: `snapshot` (raw pages) or `backup` (JSON export). */
export type TaskType = 'snapshot' | 'backup';

/**
 * TaskEncryption: `none`, or the task's own key. The key is referenced, never copied into
 * the task: a key file on the server's machine, or an environment variable of the server
 * process. Backups record only the key id.
 */
export type TaskEncryption = { mode: 'none' } | { mode: 'key'; keyFile?: string; keyEnv?: string };

/** TaskDefinition: a validated, normalized periodic backup task. */
export interface TaskDefinition {
  /** Stable id (uuid), assigned at creation. */
  id: string;
  /** Name shown in status; generated from the type and destinations when not given. */
  name: string;
  /** The hosted database the task backs up. */
  database: string;
  type: TaskType;
  /** Cron for full backups; absent: incremental-only (its first run is a full). */
  fullCron?: string;
  /** Cron for incremental backups; absent: full-only. */
  incrementalCron?: string;
  /** IANA time zone the crons are read in. */
  timeZone: string;
  retention: RetentionPolicy;
  encryption: TaskEncryption;
  /** Destination URLs or folder paths; every run writes to each. */
  destinations: string[];
  enabled: boolean;
  /** Cluster mode to come: the node that should run the task. Recorded, not used yet. */
  preferredNode?: string;
  compression?: 'zstd' | 'gzip' | 'none';
  level?: number;
}

/** TaskInput: what a caller may send to create or update a task (everything optional is defaulted). */
export interface TaskInput {
  name?: string;
  database?: string;
  type?: TaskType;
  fullCron?: string | null;
  incrementalCron?: string | null;
  timeZone?: string;
  retention?: Partial<RetentionPolicy> | null;
  encryption?: TaskEncryption;
  destinations?: string[];
  enabled?: boolean;
  preferredNode?: string | null;
  compression?: 'zstd' | 'gzip' | 'none';
  level?: number;
}

/** TaskContext: facts validation needs from outside (so validateTask stays pure). */
export interface TaskContext {
  /** Hosted database names; a task for another database is refused. */
  databases?: readonly string[];
  /** URL schemes destinations may use (`file`, `s3`, …); a bare path is a local folder. */
  schemes: readonly string[];
  /**
   * Key id of the database's own encryption key (lmdb-js `encryptionKey`), when the
   * database is encrypted. A snapshot copies its pages as they are on disk, so a snapshot
   * task of an encrypted database must be encrypted with that same key, as RavenDB
   * requires; null or absent: the database is not encrypted.
   */
  databaseKeyId?: string | null;
  /** Key id of the task's key (the caller loads it), when the task has one. */
  taskKeyId?: string | null;
  /**
   * What the database is, when known: a pagevault document database, a plain lmdb-js
   * environment, or one whose pages lmdb-js encrypts. JSON backups read documents, so they
   * refuse an encrypted database, and their incrementals follow document etags, so they
   * need a document database.
   */
  databaseKind?: 'docdb' | 'env' | 'encrypted';
}

/** DEFAULT_RETENTION: disabled (keep everything) unless the task says otherwise. */
export const DEFAULT_RETENTION: RetentionPolicy = { enabled: false, minimumAgeMs: 0 };

const TYPES: readonly TaskType[] = ['snapshot', 'backup'];
const COMPRESSIONS = ['zstd', 'gzip', 'none'] as const;

function str(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidArgumentError(`Expected a non-empty string for ${what} but received ${JSON.stringify(value)}`);
  return value.trim();
}

/** destinationScheme: the URL scheme of a destination, or 'file' for a plain path. */
export function destinationScheme(dest: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(dest);
  return m ? m[1].toLowerCase() : 'file';
}

/**
 * generatedTaskName: `<database> <type> to <scheme://host/path or folder>[ +N]`, for a task
 * without a name (no credentials or query strings). The database is part of it because
 * tasks of several databases often share one destination, and names are unique.
 */
export function generatedTaskName(database: string, type: TaskType, destinations: readonly string[]): string {
  const first = destinations[0];
  let where: string;
  try {
    const url = new URL(first);
    where = `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    where = first;
  }
  return `${database} ${type} to ${redact(where)}${destinations.length > 1 ? ` +${destinations.length - 1}` : ''}`;
}

/**
 * validateTask: a normalized TaskDefinition from `input`, or InvalidArgumentError naming
 * the first problem: a missing or unknown database, an unknown type, a bad cron or time
 * zone, no schedule at all, no destination or one with an unknown scheme, a retention
 * period that is too short (message starts with RETENTION_TOO_SHORT), an encryption mode
 * without a key source, or a snapshot task whose key is not the encrypted database's own.
 * `existing` is the task being updated: absent fields keep its values, and its id stays.
 */
export function validateTask(input: TaskInput, context: TaskContext, existing?: TaskDefinition): TaskDefinition {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new InvalidArgumentError(`Expected an object for the task but received ${JSON.stringify(input)}`);
  const pick = <K extends keyof TaskInput>(k: K): TaskInput[K] | undefined => (input[k] !== undefined ? input[k] : (existing?.[k as keyof TaskDefinition] as TaskInput[K] | undefined));

  const database = str(pick('database'), 'database');
  if (context.databases && !context.databases.includes(database)) {
    throw new InvalidArgumentError(`unknown database ${JSON.stringify(database)}: the server hosts ${context.databases.length ? context.databases.map((d) => JSON.stringify(d)).join(', ') : 'no databases'}`);
  }
  const type = pick('type') ?? 'snapshot';
  if (!TYPES.includes(type)) throw new InvalidArgumentError(`unknown task type ${JSON.stringify(type)}: expected "snapshot" or "backup"`);

  const timeZone = pick('timeZone') ?? 'UTC';
  validateTimeZone(timeZone);
  const fullCron = pick('fullCron') ?? undefined;
  const incrementalCron = pick('incrementalCron') ?? undefined;
  if (fullCron !== undefined) validateCron(str(fullCron, 'fullCron'), timeZone, 'full');
  if (incrementalCron !== undefined) validateCron(str(incrementalCron, 'incrementalCron'), timeZone, 'incremental');
  if (fullCron === undefined && incrementalCron === undefined) {
    throw new InvalidArgumentError('a periodic task needs a full schedule, an incremental schedule, or both (for a single backup use a one-time backup)');
  }

  const destinations = pick('destinations');
  if (!Array.isArray(destinations) || destinations.length === 0) throw new InvalidArgumentError('Expected at least one destination');
  const dests = destinations.map((d, i) => str(d, `destinations[${i}]`));
  for (const d of dests) {
    const scheme = destinationScheme(d);
    if (!context.schemes.includes(scheme)) {
      throw new InvalidArgumentError(`unknown destination scheme "${scheme}://" in ${redact(d)}: expected a folder path or one of ${context.schemes.map((s) => `${s}://`).join(', ')}`);
    }
  }
  if (new Set(dests).size !== dests.length) throw new InvalidArgumentError('the same destination is listed twice');

  const retentionIn = input.retention === null ? DEFAULT_RETENTION : (input.retention ?? existing?.retention ?? DEFAULT_RETENTION);
  const retention: RetentionPolicy = { enabled: retentionIn.enabled ?? true, minimumAgeMs: retentionIn.minimumAgeMs ?? 0 };
  validateRetentionPolicy(retention);

  const encryption = pick('encryption') ?? { mode: 'none' as const };
  if (encryption?.mode === 'key') {
    if ((encryption.keyFile === undefined) === (encryption.keyEnv === undefined)) throw new InvalidArgumentError('encryption mode "key" needs exactly one of keyFile or keyEnv');
    if (encryption.keyFile !== undefined) str(encryption.keyFile, 'encryption.keyFile');
    if (encryption.keyEnv !== undefined) str(encryption.keyEnv, 'encryption.keyEnv');
  } else if (encryption?.mode !== 'none') {
    throw new InvalidArgumentError(`unknown encryption mode ${JSON.stringify((encryption as { mode?: unknown })?.mode)}: expected "none" or "key"`);
  }
  if (type === 'snapshot' && context.databaseKeyId) {
    if (encryption.mode !== 'key') throw new InvalidArgumentError(`database ${database} is encrypted: a snapshot task must be encrypted with the database's key`);
    if (context.taskKeyId !== context.databaseKeyId) {
      throw new InvalidArgumentError(`the snapshot task's key (id ${context.taskKeyId ?? 'unknown'}) does not match database ${database}'s key (id ${context.databaseKeyId}): a snapshot of an encrypted database is encrypted with the database's own key`);
    }
  }

  if (type === 'backup' && context.databaseKind === 'encrypted') {
    throw new InvalidArgumentError(`database ${database} is encrypted by lmdb-js, and a JSON backup must read its documents: use a snapshot task (it copies the encrypted pages as they are)`);
  }
  if (type === 'backup' && incrementalCron !== undefined && context.databaseKind === 'env') {
    throw new InvalidArgumentError(`JSON incremental backups follow the etags of a pagevault document database, and ${database} is a plain lmdb-js environment: give the JSON task only a full schedule, or use a snapshot task for incrementals`);
  }

  const compression = pick('compression');
  if (compression !== undefined && !COMPRESSIONS.includes(compression)) throw new InvalidArgumentError(`unknown compression ${JSON.stringify(compression)}: expected zstd, gzip or none`);
  const level = pick('level');
  if (level !== undefined && (!Number.isInteger(level) || level < 1 || level > 19)) throw new InvalidArgumentError(`Expected a compression level from 1 to 19 but received ${JSON.stringify(level)}`);
  const enabled = pick('enabled') ?? true;
  if (typeof enabled !== 'boolean') throw new InvalidArgumentError(`Expected a boolean for enabled but received ${JSON.stringify(enabled)}`);
  const nameIn = pick('name');
  const name = nameIn === undefined || nameIn === null || (existing && input.name === undefined && existing.name === generatedTaskName(existing.database, existing.type, existing.destinations))
    ? generatedTaskName(database, type, dests)
    : str(nameIn, 'name');
  const preferredNode = input.preferredNode === null ? undefined : pick('preferredNode');

  return {
    id: existing?.id ?? randomUUID(),
    name,
    database,
    type,
    ...(fullCron !== undefined ? { fullCron: fullCron.trim() } : {}),
    ...(incrementalCron !== undefined ? { incrementalCron: incrementalCron.trim() } : {}),
    timeZone,
    retention,
    encryption: encryption.mode === 'key' ? { mode: 'key', ...(encryption.keyFile ? { keyFile: encryption.keyFile } : {}), ...(encryption.keyEnv ? { keyEnv: encryption.keyEnv } : {}) } : { mode: 'none' },
    destinations: dests,
    enabled,
    ...(preferredNode ? { preferredNode: str(preferredNode, 'preferredNode') } : {}),
    ...(compression ? { compression } : {}),
    ...(level !== undefined ? { level } : {}),
  };
}
