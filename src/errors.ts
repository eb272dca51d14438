/**
 * errors: every error pagevault throws on purpose is a `PagevaultError` subclass with a
 * stable `code` (`PAGEVAULT_ERR_*`). Scripts and the CLI branch on `code`, never on the
 * message text, so codes are part of the public API: add new ones, never rename.
 *
 * Brand checks use `Symbol.for`, so `isPagevaultError` also recognises errors created by
 * a second copy of this package loaded in the same process (an app and a plugin each
 * bundling pagevault).
 */

const kPagevaultError = Symbol.for('pagevault.error');

/** Every stable error code, in one place so the README table and `--help` can list them. */
export const ErrorCodes = {
  INVALID_ARGUMENT: 'PAGEVAULT_ERR_INVALID_ARGUMENT',
  NOT_FOUND: 'PAGEVAULT_ERR_NOT_FOUND',
  NOT_LMDB: 'PAGEVAULT_ERR_NOT_LMDB',
  UNSUPPORTED_FORMAT: 'PAGEVAULT_ERR_UNSUPPORTED_FORMAT',
  CORRUPT_ENV: 'PAGEVAULT_ERR_CORRUPT_ENV',
  IO: 'PAGEVAULT_ERR_IO',
  NATIVE_LOAD: 'PAGEVAULT_ERR_NATIVE_LOAD',
  DESTINATION_NOT_EMPTY: 'PAGEVAULT_ERR_DESTINATION_NOT_EMPTY',
  DOCUMENT_NOT_FOUND: 'PAGEVAULT_ERR_DOCUMENT_NOT_FOUND',
  UNIQUE_VIOLATION: 'PAGEVAULT_ERR_UNIQUE_VIOLATION',
  INDEX_NOT_FOUND: 'PAGEVAULT_ERR_INDEX_NOT_FOUND',
  INDEX_EXISTS: 'PAGEVAULT_ERR_INDEX_EXISTS',
  NOT_A_DOCUMENT_DB: 'PAGEVAULT_ERR_NOT_A_DOCUMENT_DB',
  ABORTED: 'PAGEVAULT_ERR_ABORTED',
  BENCH_PEER_MISSING: 'PAGEVAULT_ERR_BENCH_PEER_MISSING',
  BACKUP_RUNNING: 'PAGEVAULT_ERR_BACKUP_RUNNING',
  BACKUP_CORRUPT: 'PAGEVAULT_ERR_BACKUP_CORRUPT',
  BACKUP_TRUNCATED: 'PAGEVAULT_ERR_BACKUP_TRUNCATED',
  WRONG_KEY: 'PAGEVAULT_ERR_WRONG_KEY',
  KEY_REQUIRED: 'PAGEVAULT_ERR_KEY_REQUIRED',
  CHAIN_BROKEN: 'PAGEVAULT_ERR_CHAIN_BROKEN',
  CHAIN_MISMATCH: 'PAGEVAULT_ERR_CHAIN_MISMATCH',
  INCREMENTAL_UNAVAILABLE: 'PAGEVAULT_ERR_INCREMENTAL_UNAVAILABLE',
  UNSUPPORTED_BACKUP: 'PAGEVAULT_ERR_UNSUPPORTED_BACKUP',
  INVALID_RECORD: 'PAGEVAULT_ERR_INVALID_RECORD',
  DESTINATION_FAILED: 'PAGEVAULT_ERR_DESTINATION_FAILED',
  RESTORE_BUSY: 'PAGEVAULT_ERR_RESTORE_BUSY',
  INTERRUPTED: 'PAGEVAULT_ERR_INTERRUPTED',
  UNAUTHORIZED: 'PAGEVAULT_ERR_UNAUTHORIZED',
  SERVER_UNREACHABLE: 'PAGEVAULT_ERR_SERVER_UNREACHABLE',
  TIMEOUT: 'PAGEVAULT_ERR_TIMEOUT',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Exit codes the CLI uses; documented in the README and in `pagevault --help`. */
export const ExitCodes = {
  OK: 0,
  /** An operation failed with a PagevaultError (its code is printed). */
  FAILURE: 1,
  /** Bad command line: unknown command or option, missing or invalid value. */
  USAGE: 2,
  /** A bug: an error that is not a PagevaultError. */
  INTERNAL: 70,
} as const;

/** PagevaultError: base class; `code` is stable, `message` is for humans. */
export class PagevaultError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  get [kPagevaultError](): true {
    return true;
  }
}

/** isPagevaultError: true for any pagevault error, including ones from another copy of the package. */
export function isPagevaultError(err: unknown): err is PagevaultError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[kPagevaultError] === true;
}

/** InvalidArgumentError: a caller passed a value of the wrong type or range. */
export class InvalidArgumentError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.INVALID_ARGUMENT, message);
  }
}

/** NotFoundError: a path (database, backup, file) does not exist. */
export class NotFoundError extends PagevaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.NOT_FOUND, message, options);
  }
}

/** NotLmdbError: the file exists but is not an LMDB data file (no meta page magic). */
export class NotLmdbError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.NOT_LMDB, message);
  }
}

/** UnsupportedFormatError: an LMDB file of a layout pagevault was not built for (32-bit, unknown version). */
export class UnsupportedFormatError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.UNSUPPORTED_FORMAT, message);
  }
}

/** CorruptEnvError: a page failed a structural check (page number, bounds, txn id) while reading. */
export class CorruptEnvError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.CORRUPT_ENV, message);
  }
}

/** IoError: the operating system refused a read or write; `cause` holds the errno error. */
export class IoError extends PagevaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.IO, message, options);
  }
}

/** NativeLoadError: the compiled addon could not be loaded; the message lists every path tried. */
export class NativeLoadError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.NATIVE_LOAD, message);
  }
}

/** DestinationNotEmptyError: refusing to write into a path that already holds data. */
export class DestinationNotEmptyError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.DESTINATION_NOT_EMPTY, message);
  }
}

/** DocumentNotFoundError: a document id that does not exist (or is deleted). */
export class DocumentNotFoundError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.DOCUMENT_NOT_FOUND, message);
  }
}

/** UniqueViolationError: a write would put two documents under one key of a unique index. */
export class UniqueViolationError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.UNIQUE_VIOLATION, message);
  }
}

/** IndexNotFoundError: a query or rebuild named an index that is not defined. */
export class IndexNotFoundError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.INDEX_NOT_FOUND, message);
  }
}

/** IndexExistsError: defining an index whose name is taken by a different definition. */
export class IndexExistsError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.INDEX_EXISTS, message);
  }
}

/** NotADocumentDbError: the environment exists but was not created by `openDatabase`. */
export class NotADocumentDbError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.NOT_A_DOCUMENT_DB, message);
  }
}

/** AbortedError: the operation was cancelled through its AbortSignal. */
export class AbortedError extends PagevaultError {
  constructor(message = 'operation aborted') {
    super(ErrorCodes.ABORTED, message);
  }
}

/** BenchPeerMissingError: a benchmark peer (restic) is not installed. */
export class BenchPeerMissingError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.BENCH_PEER_MISSING, message);
  }
}

/** BackupRunningError: another backup of the same database holds the lock (a lock left by a dead process is taken over, not reported). */
export class BackupRunningError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.BACKUP_RUNNING, message);
  }
}

/** BackupCorruptError: a backup file failed a checksum, an authentication tag or a structural check (tampered, reordered, damaged). */
export class BackupCorruptError extends PagevaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.BACKUP_CORRUPT, message, options);
  }
}

/** BackupTruncatedError: a backup file ends before its trailer (an interrupted copy or upload). */
export class BackupTruncatedError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.BACKUP_TRUNCATED, message);
  }
}

/** WrongKeyError: the key given does not match the key id recorded in the backup; detected before any output is written. */
export class WrongKeyError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.WRONG_KEY, message);
  }
}

/** KeyRequiredError: the backup is encrypted (or the environment is encrypted by lmdb-js) and no key was given. */
export class KeyRequiredError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.KEY_REQUIRED, message);
  }
}

/** ChainBrokenError: a file the chain manifest lists is missing, or the manifest itself is. */
export class ChainBrokenError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.CHAIN_BROKEN, message);
  }
}

/** ChainMismatchError: a file belongs to another chain or database, or its transaction ids do not follow its predecessor. */
export class ChainMismatchError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.CHAIN_MISMATCH, message);
  }
}

/** IncrementalUnavailableError: an incremental was asked for but cannot be taken (e.g. an lmdb-js-encrypted environment without its key). */
export class IncrementalUnavailableError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.INCREMENTAL_UNAVAILABLE, message);
  }
}

/** UnsupportedBackupError: a backup file of a format version or algorithm this pagevault does not know. */
export class UnsupportedBackupError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.UNSUPPORTED_BACKUP, message);
  }
}

/**
 * InvalidBackupRecordError: a JSON backup or export stream holds a record that cannot be
 * read (bad JSON, unknown record type, wrong format version, missing header, a stream that
 * ends before its end record). `record` is the 1-based line number when known.
 */
export class InvalidBackupRecordError extends PagevaultError {
  readonly record: number | undefined;

  constructor(message: string, record?: number) {
    super(ErrorCodes.INVALID_RECORD, record === undefined ? message : `record ${record}: ${message}`);
    this.record = record;
  }
}

/** RestoreBusyError: a restore waited its start timeout for the restore before it to finish. */
export class RestoreBusyError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.RESTORE_BUSY, message);
  }
}

/** InterruptedError: the process running an operation stopped before it finished (recorded at the next start). */
export class InterruptedError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.INTERRUPTED, message);
  }
}

/** UnauthorizedError: a server request without a valid API key. */
export class UnauthorizedError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.UNAUTHORIZED, message);
  }
}

/** ServerUnreachableError: the CLI or client could not reach the pagevault server, or got a reply that is not its API. */
export class ServerUnreachableError extends PagevaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.SERVER_UNREACHABLE, message, options);
  }
}

/** TimeoutError: waiting for an operation took longer than the caller allowed (the operation itself goes on). */
export class TimeoutError extends PagevaultError {
  constructor(message: string) {
    super(ErrorCodes.TIMEOUT, message);
  }
}

/** errorInfo: `{ code, message }` of any thrown value (PAGEVAULT_ERR_INTERNAL when it has no code); for status records and replies. */
export function errorInfo(err: unknown): { code: string; message: string } {
  const code = typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'PAGEVAULT_ERR_INTERNAL';
  return { code, message: err instanceof Error ? err.message : String(err) };
}
