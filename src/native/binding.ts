/**
 * binding: the one seam between TypeScript and the compiled addon `pagevault_native.node` (STYLE.md habit 1).
 *
 * Only this module loads the binary and declares its shape; everything else calls the typed wrappers below. The
 * addon links no LMDB and never opens `lock.mdb` (LMDB-INTERNALS.md §0): it reads `data.mdb` with pread on the
 * libuv thread pool.
 *
 * Loading is lazy (first use) and cached for the life of the process. The package root is found by walking up from
 * this file to the `package.json` named "pagevault" (this file runs as `src/native/binding.ts` under vitest and as
 * `dist/src/native/binding.js` when built), then `build/Release` and `build/Debug` are tried in that order. If none
 * loads, one NativeLoadError lists every path tried and why it failed.
 *
 * Native failures arrive as plain Errors with a `code` (PAGEVAULT_ERR_*) and, for system errors, `errno`,
 * `errnoCode`, `syscall` and `path`; the wrappers turn them into the matching PagevaultError subclass with the
 * stack of the caller (habit 3), and keep the system error as `cause`.
 *
 * @internal
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  AbortedError,
  CorruptEnvError,
  ErrorCodes,
  IncrementalUnavailableError,
  WrongKeyError,
  IoError,
  NativeLoadError,
  NotFoundError,
  NotLmdbError,
  PagevaultError,
  UnsupportedFormatError,
} from '../errors.js';

/** RawDbRecord: an MDB_db record as the addon reports it; every count is an exact integer below 2^53. */
export interface RawDbRecord {
  flags: number;
  depth: number;
  entries: number;
  /** null when the tree is empty (LMDB's P_INVALID). */
  rootPage: number | null;
  branchPages: number;
  leafPages: number;
  overflowPages: number;
}

/** RawNamedDatabase: one named database found in the main tree. */
export interface RawNamedDatabase extends RawDbRecord {
  name: string;
}

/** RawEnvInfo: what the addon's `envInfo` resolves with (built in native/env_info_worker.cc). */
export interface RawEnvInfo {
  dataPath: string;
  fileSize: number;
  dataVersion: number;
  pageHeaderSize: number;
  formatDescription: string;
  pageSize: number;
  mapSize: number;
  lastPage: number;
  lastTxnId: number;
  metaSlot: number;
  envFlags: number;
  encrypted: boolean;
  mainDb: RawDbRecord;
  /** null for encrypted environments, whose tree pages are ciphertext. */
  namedDatabases: RawNamedDatabase[] | null;
}

/** NativeFormat: one on-disk layout the addon can read. */
export interface NativeFormat {
  readonly dataVersion: number;
  readonly pageHeaderSize: number;
  readonly pageBase: number;
  readonly maxPageSize: number;
  readonly description: string;
}

/** RawMetaSlot: one meta page as readMetaPages decoded it. Only the current slot's values are validated (< 2^53). */
export interface RawMetaSlot {
  txnId: number;
  lastPage: number;
  envFlags: number;
  mapSize: number;
}

/** RawMetaPages: what the addon's `readMetaPages` returns (native/snapshot_handle.cc). */
export interface RawMetaPages {
  /** The data file read: `<dir>/data.mdb`, or the path itself for a noSubdir environment. */
  dataPath: string;
  pageSize: number;
  dataVersion: number;
  pageHeaderSize: number;
  /** The slot with the larger txnid. */
  currentSlot: number;
  /** mm_flags of the current meta has 0x2000. */
  encrypted: boolean;
  metas: [RawMetaSlot, RawMetaSlot];
  /** Pages 0 and 1 byte for byte (2 x pageSize), as read. */
  pages: Buffer;
}

/**
 * RawSnapshotStats: the counters of a native snapshot handle, as of its last finished call. Walk counters are
 * final after `collect()`; shipping counters grow with each batch.
 */
export interface RawSnapshotStats {
  /** Pages the tree walk read: whole (parsed) or header only (see headerProbes). */
  pagesVisited: number;
  /** Of those, pages read as a header only: unchanged subtree roots (incremental) and overflow first pages. */
  headerProbes: number;
  /** Incremental: pages read and found unchanged since the base (their subtrees were skipped). */
  subtreesPruned: number;
  /** Incremental: overflow runs skipped by their reference's txnid, without a read. */
  overflowRunsSkipped: number;
  /** Trees entered: free list, main, named databases, dupSort sub-databases. */
  databases: number;
  /** Full walks of data version 2: big-value references whose txnid differs from their run's header (expected 0). */
  overflowRefMismatches: number;
  pagesToShip: number;
  runs: number;
  bytesToShip: number;
  pagesShipped: number;
  bytesShipped: number;
  batches: number;
}

/** RawPageBatch: one batch of pages: `runs` holds [firstPgno, count] pairs, `data` their pages concatenated. */
export interface RawPageBatch {
  runs: Float64Array;
  data: Buffer;
}

/**
 * NativeSnapshotHandle: the addon's SnapshotHandle (native/snapshot_handle.h). At most one `collect`/`nextBatch`
 * may be pending; starting another throws. `close()` is idempotent and makes a running call stop soon (it then
 * rejects with PAGEVAULT_ERR_ABORTED, or settles normally if it had finished).
 */
export interface NativeSnapshotHandle {
  readonly txnId: number;
  readonly baseTxnId: number;
  readonly pageSize: number;
  readonly lastPage: number;
  readonly dataVersion: number;
  readonly pageHeaderSize: number;
  readonly encrypted: boolean;
  /** The normalized meta pages 0 and 1 of the snapshot (2 x pageSize). */
  readonly metaPages: Buffer;
  /** collect: decides which pages to ship (tree walk) on the libuv pool; once, before nextBatch. */
  collect(): Promise<RawSnapshotStats>;
  /** nextBatch: the next pages, at most max(1, floor(maxBytes / pageSize)) of them; null at the end. */
  nextBatch(maxBytes: number): Promise<RawPageBatch | null>;
  stats(): RawSnapshotStats;
  close(): void;
}

/**
 * ExportDbSpec: one database of a native JSON export (native/export_cursor.h) and how its entries become NDJSON lines:
 * `prefix` + KEY + `,"v":` + VALUE + (versions ? `,"ver":` + number : '') + `}\n`.
 */
export interface ExportDbSpec {
  /** A named database's exact name; null for the root (main) store, whose named-database records are skipped. */
  name: string | null;
  /** Written before the key of every line, e.g. `{"t":"entry","db":"users","k":`. */
  prefix: string;
  /**
   * 'string': an ordered-binary key holding a plain string becomes a JSON string; 'uint32': a 4-byte little-endian
   * key becomes a number; anything else (and every 'raw' key) becomes `{"$pv":"key","v":"<base64>"}`.
   */
  keyMode: 'string' | 'uint32' | 'raw';
  /**
   * 'msgpack': msgpackr (records) transcoded to JSON with `$pv` tags, `{"$pv":"mp","v":"<base64>"}` when it cannot
   * be; 'string': UTF-8 text (else `{"$pv":"raw",...}`); 'binary': `{"$pv":"bin",...}`; 'raw': `{"$pv":"raw",...}`.
   */
  valueMode: 'msgpack' | 'string' | 'binary' | 'raw';
  /** lmdb-js `useVersions`: values start with an 8-byte little-endian float64 version, written as `"ver"`. */
  versions?: boolean;
  /**
   * msgpackr's `mapsAsObjects`: msgpack maps decode to plain objects. Off by default, as in lmdb-js, where they
   * decode to Maps: a map then takes the `mp` fallback, since no JSON object would read back as a Map.
   */
  mapsAsObjects?: boolean;
  /** msgpackr shared structures (record 0x40 + i has keys structures[i]), read from the same snapshot; null: none. */
  structures?: (string[] | null)[] | null;
  /** lmdb-js `compression`: values with its LZ4 header are decompressed with this dictionary first; null: none. */
  compression?: { dictionary: Buffer } | null;
}

/**
 * ExportOptions: how a native JSON export runs; the output bytes are the same whatever is chosen.
 */
export interface ExportOptions {
  /**
   * Threads that transcode, 1 to 64. 1: one cursor on the libuv pool thread of each `nextBatch` (no other thread).
   * More: each database with many leaf pages is cut into key ranges between main-tree pages, transcoded on that many
   * worker threads, and handed out in key order (native/export_parallel.h); a `nextBatch` then waits on a pool
   * thread. Default: defaultExportThreads().
   */
  threads?: number;
  /** @internal Leaf pages per range of a threaded export (tests use small values to force many ranges). */
  rangeLeafPages?: number;
}

/**
 * defaultExportThreads: the number of cores (os.availableParallelism()), at most 4. One worker per core keeps every
 * core transcoding; the JS thread that writes the batches and the pool thread that assembles them do little by
 * comparison. Above 4 the single JS consumer (writing, compressing) is expected to be the limit, while every thread
 * adds up to (threads + 1) x 3 queued chunks of memory (export_parallel.h). Measured on 2 cores only (README).
 */
export function defaultExportThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** RawExportBatch: whole NDJSON lines, how many entries they hold and how many of those took the `mp` fallback. */
export interface RawExportBatch {
  data: Buffer;
  entries: number;
  fallbacks: number;
}

/** RawExportStats: the counters of a native export handle as of its last finished call. */
export interface RawExportStats {
  entries: number;
  bytes: number;
  fallbacks: number;
  /** Tree and overflow pages read. */
  pagesRead: number;
  batches: number;
}

/**
 * NativeExportHandle: the addon's ExportHandle (native/export_handle.h). At most one `nextBatch` may be pending;
 * starting another throws. `close()` is idempotent; a pending call then rejects with PAGEVAULT_ERR_ABORTED (or
 * settles normally if it had finished).
 */
export interface NativeExportHandle {
  /**
   * nextBatch: the next whole lines, at least `maxBytes` of them unless the export ends (a line is never split); null
   * at the end. Databases are looked up by the first call: PAGEVAULT_ERR_NOT_FOUND when one does not exist.
   */
  nextBatch(maxBytes: number): Promise<RawExportBatch | null>;
  stats(): RawExportStats;
  close(): void;
}

/**
 * EncodedDocLines: what nativeEncodeDocLines resolves with (built in native/encode_doc_lines.cc). Kind-1 lines are
 * JSON `doc` records encoded exactly as lmdb-js 3.5.6 stores `docs.putSync(id, fromJsonValue(v))` on a default store:
 * key = the id as an ordered-binary string key, value = msgpackr (records) bytes. Put them through a handle that
 * keeps the default key encoding and has `encoding: 'binary'` (a Buffer key is then copied as is); see
 * native/doc_encoder.h for the exact rules and for what is left to JSON.parse.
 */
export interface EncodedDocLines {
  /**
   * Per input line, in order: 1 = a doc record encoded here; 0 = anything else (header, end, index, identity,
   * tombstone, entry, a doc this encoder cannot encode exactly, or malformed): the caller JSON.parses that line itself.
   */
  kinds: Uint8Array;
  /** [start, end) byte offsets of every line in `lines` (without its '\n'), 2 per line. */
  lineOffsets: Uint32Array;
  /** For kind-1 lines, in order: [keyStart, keyEnd, valueStart, valueEnd] into `data`, 4 per encoded doc. */
  docOffsets: Uint32Array;
  /** The doc's `etag` (from v.etag) per encoded doc: a safe integer >= 1. */
  etags: Float64Array;
  /** Keys and values of the encoded docs, back to back. */
  data: Buffer;
}

/** NativeBinding: the exports of `pagevault_native.node`, exactly as the addon defines them in native/addon.cc. */
export interface NativeBinding {
  /**
   * envInfo: reads the meta pages and main tree of the data file at `path` (an env directory or a data file) on
   * the libuv pool. Throws a TypeError synchronously for a non-string, empty or NUL-containing path; otherwise the
   * promise settles once, rejecting with a native error object (see toPagevaultError).
   */
  envInfo(path: string): Promise<RawEnvInfo>;
  /** formats: the layouts the reader understands, in data version order. Frozen. */
  readonly formats: readonly NativeFormat[];
  /**
   * readMetaPages: SYNCHRONOUS: preads pages 0 and 1 of the data file at `path` (at most 128 KiB, on the JS thread
   * on purpose: it is called under lmdb-js's write lock, which must be released quickly). Throws a TypeError for a
   * bad path, else the native error object.
   */
  readMetaPages(path: string): RawMetaPages;
  /**
   * openSnapshot: SYNCHRONOUS, no I/O: checks that slot `txnId & 1` of `metaPages` (readMetaPages' `pages`) holds
   * `txnId`, and returns a handle for a full (`baseTxnId` 0) or incremental snapshot. Throws a TypeError/RangeError
   * for bad arguments, else the native error object (CORRUPT_ENV, INCREMENTAL_UNAVAILABLE, ...). `envKey`: the 32
   * bytes of an lmdb-js-encrypted environment's key, needed for its incrementals (WRONG_KEY, from the walk, when it
   * does not decrypt the pages); ignored for an environment that is not encrypted.
   */
  openSnapshot(path: string, metaPages: Buffer, txnId: number, baseTxnId: number, envKey?: Buffer): NativeSnapshotHandle;
  /**
   * openExport: SYNCHRONOUS, no I/O: checks that slot `txnId & 1` of `metaPages` holds `txnId` and returns a JSON
   * export cursor over `dbs` in that snapshot (`options.threads` defaults to 1 here). Throws a TypeError for
   * malformed arguments, else the native error object (CORRUPT_ENV; UNSUPPORTED_FORMAT for an encrypted environment).
   */
  openExport(path: string, metaPages: Buffer, txnId: number, dbs: ExportDbSpec[], options?: ExportOptions): NativeExportHandle;
  /**
   * tryLockFile: SYNCHRONOUS (open + non-blocking flock): opens (creating) `path` and takes an exclusive flock;
   * returns the descriptor, or null when another open file description holds it. Throws an Error with `errno`,
   * `syscall` and `path` when the file cannot be opened.
   */
  tryLockFile(path: string): number | null;
  /** unlockFile: releases the lock and closes the descriptor. */
  unlockFile(fd: number): void;
  /**
   * writeRuns: pwrites page runs ([firstPgno, count, ...]) into the open file `fd`, on the libuv pool. Their pages
   * lie back to back in `data`, or `data` holds one buffer per run with exactly that run's pages. The buffers must
   * stay unmodified until the promise settles. With `directFd` (the same file opened with O_DIRECT), long aligned
   * runs bypass the page cache (see page_writer.h). Rejects with an Error carrying `errno`/`syscall` on a failed write.
   */
  writeRuns(fd: number, runs: Float64Array, data: Buffer | Buffer[], pageSize: number, directFd?: number): Promise<void>;
  /**
   * preallocate: allocates the blocks of [offset, offset + length) of the open file `fd` with fallocate(2) on the
   * libuv pool; with `keepSize` the file's size stays as it is. Resolves false where the file system cannot (the
   * writes then allocate as they go). Rejects with an Error carrying `errno`/`syscall` (and code ENOSPC).
   */
  preallocate(fd: number, offset: number, length: number, keepSize: boolean): Promise<boolean>;
  /**
   * encodeDocLines: encodes the JSON doc lines of `lines` (whole lines separated by '\n') on the libuv pool. Throws a
   * TypeError for a non-Buffer, a RangeError for 2^32 - 1 bytes or more. `lines` must stay unmodified until the
   * promise settles.
   */
  encodeDocLines(lines: Buffer): Promise<EncodedDocLines>;
}

const ADDON_FILE = 'pagevault_native.node';
const BUILD_DIRS = ['build/Release', 'build/Debug'];

let cachedBinding: NativeBinding | undefined;

/**
 * findPackageRoot: the nearest directory at or above `startDir` whose package.json is named "pagevault".
 * Synchronous file reads (a few small files, once per process). Throws NativeLoadError when there is none.
 */
export function findPackageRoot(startDir: string): string {
  for (let dir = startDir; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
        if (parsed.name === 'pagevault') return dir;
      } catch {
        // An unreadable or invalid package.json above us is not ours; keep walking up.
      }
    }
    if (dirname(dir) === dir) {
      throw new NativeLoadError(`cannot find the pagevault package root above ${startDir}`);
    }
  }
}

function isNativeBinding(value: unknown): value is NativeBinding {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.envInfo === 'function' &&
    Array.isArray(candidate.formats) &&
    typeof candidate.readMetaPages === 'function' &&
    typeof candidate.openSnapshot === 'function'
  );
}

/**
 * loadBindingFrom: loads the addon from `root`/build/Release, else `root`/build/Debug, without caching. Throws one
 * NativeLoadError listing each candidate and why it failed (missing, not loadable, wrong exports).
 */
export function loadBindingFrom(root: string): NativeBinding {
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const dir of BUILD_DIRS) {
    const candidate = join(root, dir, ADDON_FILE);
    if (!existsSync(candidate)) {
      failures.push(`${candidate}: not built`);
      continue;
    }
    try {
      const loaded: unknown = require(candidate);
      if (!isNativeBinding(loaded)) {
        failures.push(
          `${candidate}: loaded, but it lacks some of envInfo, formats, readMetaPages and openSnapshot (stale build?)`,
        );
        continue;
      }
      return loaded;
    } catch (err) {
      failures.push(`${candidate}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new NativeLoadError(
    `cannot load the pagevault native addon; run \`npm run build:native\`. Tried:\n  ${failures.join('\n  ')}`,
  );
}

/**
 * loadBinding: the addon of this package (root found by findPackageRoot), loaded on first call and cached for the
 * process. Throws NativeLoadError when it cannot be loaded; a later call tries again.
 */
export function loadBinding(): NativeBinding {
  cachedBinding ??= loadBindingFrom(findPackageRoot(dirname(fileURLToPath(import.meta.url))));
  return cachedBinding;
}

/** NativeErrorShape: the fields native/errors.cc puts on the Errors it builds. */
interface NativeErrorShape {
  message: string;
  code?: unknown;
  errno?: unknown;
  errnoCode?: unknown;
  syscall?: unknown;
  path?: unknown;
}

function systemErrorOf(native: NativeErrorShape): NodeJS.ErrnoException | undefined {
  if (typeof native.errno !== 'number') return undefined;
  const cause: NodeJS.ErrnoException = new Error(native.message);
  cause.errno = native.errno;
  if (typeof native.errnoCode === 'string') cause.code = native.errnoCode;
  if (typeof native.syscall === 'string') cause.syscall = native.syscall;
  if (typeof native.path === 'string') cause.path = native.path;
  return cause;
}

function causeOf(native: NativeErrorShape): { cause: unknown } | undefined {
  const cause = systemErrorOf(native);
  return cause === undefined ? undefined : { cause };
}

/**
 * toPagevaultError: converts a native error into the PagevaultError subclass its `code` names, keeping the message
 * and replacing the stack frames with those of `callSite` (an Error created where the caller entered the seam, so
 * the stack points at user code, not at the libuv callback). Anything else is returned unchanged.
 */
export function toPagevaultError(native: unknown, callSite: Error): unknown {
  if (!(native instanceof Error)) return native;
  const shape = native as NativeErrorShape;
  let converted: PagevaultError;
  switch (shape.code) {
    case ErrorCodes.NOT_FOUND:
      converted = new NotFoundError(shape.message, causeOf(shape));
      break;
    case ErrorCodes.NOT_LMDB:
      converted = new NotLmdbError(shape.message);
      break;
    case ErrorCodes.UNSUPPORTED_FORMAT:
      converted = new UnsupportedFormatError(shape.message);
      break;
    case ErrorCodes.CORRUPT_ENV:
      converted = new CorruptEnvError(shape.message);
      break;
    case ErrorCodes.IO:
      converted = new IoError(shape.message, causeOf(shape));
      break;
    case ErrorCodes.INCREMENTAL_UNAVAILABLE:
      converted = new IncrementalUnavailableError(shape.message);
      break;
    case ErrorCodes.ABORTED:
      converted = new AbortedError(shape.message);
      break;
    case ErrorCodes.WRONG_KEY:
      converted = new WrongKeyError(shape.message);
      break;
    default:
      return native;
  }
  const frames = (callSite.stack ?? '').split('\n').slice(1).join('\n');
  converted.stack = `${converted.name}: ${converted.message}${frames ? `\n${frames}` : ''}`;
  return converted;
}

/**
 * nativeEnvInfo: the addon's envInfo with errors converted by toPagevaultError. Loads the addon on first use
 * (NativeLoadError if that fails). `path` must already be validated (a non-empty string without NUL).
 */
export function nativeEnvInfo(path: string): Promise<RawEnvInfo> {
  // Captured before any await so that its frames are the caller's.
  const callSite = new Error();
  let pending: Promise<RawEnvInfo>;
  try {
    pending = loadBinding().envInfo(path);
  } catch (err) {
    return Promise.reject(toPagevaultError(err, callSite));
  }
  return pending.catch((err: unknown) => {
    throw toPagevaultError(err, callSite);
  });
}

/**
 * nativeReadMetaPages: the addon's readMetaPages with errors converted by toPagevaultError. Synchronous (see
 * NativeBinding.readMetaPages). `path` must already be validated.
 */
export function nativeReadMetaPages(path: string): RawMetaPages {
  const callSite = new Error();
  try {
    return loadBinding().readMetaPages(path);
  } catch (err) {
    throw toPagevaultError(err, callSite);
  }
}

/**
 * SnapshotHandle: a NativeSnapshotHandle whose failures are PagevaultErrors carrying the stack of the call that
 * started them. Same contract as the native handle; owns it.
 */
export class SnapshotHandle {
  readonly #native: NativeSnapshotHandle;

  constructor(native: NativeSnapshotHandle) {
    this.#native = native;
  }

  get txnId(): number {
    return this.#native.txnId;
  }
  get baseTxnId(): number {
    return this.#native.baseTxnId;
  }
  get pageSize(): number {
    return this.#native.pageSize;
  }
  get lastPage(): number {
    return this.#native.lastPage;
  }
  get dataVersion(): number {
    return this.#native.dataVersion;
  }
  get pageHeaderSize(): number {
    return this.#native.pageHeaderSize;
  }
  get encrypted(): boolean {
    return this.#native.encrypted;
  }
  get metaPages(): Buffer {
    return this.#native.metaPages;
  }

  collect(): Promise<RawSnapshotStats> {
    return this.#settle(() => this.#native.collect());
  }

  nextBatch(maxBytes: number): Promise<RawPageBatch | null> {
    return this.#settle(() => this.#native.nextBatch(maxBytes));
  }

  stats(): RawSnapshotStats {
    return this.#native.stats();
  }

  close(): void {
    this.#native.close();
  }

  #settle<T>(start: () => Promise<T>): Promise<T> {
    const callSite = new Error();
    let pending: Promise<T>;
    try {
      pending = start();
    } catch (err) {
      return Promise.reject(toPagevaultError(err, callSite));
    }
    return pending.catch((err: unknown) => {
      throw toPagevaultError(err, callSite);
    });
  }
}

/**
 * nativeOpenSnapshot: the addon's openSnapshot, wrapped in a SnapshotHandle; synchronous, errors converted by
 * toPagevaultError. Arguments must already be validated.
 */
export function nativeOpenSnapshot(
  path: string,
  metaPages: Buffer,
  txnId: number,
  baseTxnId: number,
  envKey?: Buffer,
): SnapshotHandle {
  const callSite = new Error();
  try {
    return new SnapshotHandle(loadBinding().openSnapshot(path, metaPages, txnId, baseTxnId, envKey));
  } catch (err) {
    throw toPagevaultError(err, callSite);
  }
}

/**
 * ExportHandle: a NativeExportHandle whose failures are PagevaultErrors carrying the stack of the call that started
 * them. Same contract as the native handle; owns it.
 */
export class ExportHandle {
  readonly #native: NativeExportHandle;

  constructor(native: NativeExportHandle) {
    this.#native = native;
  }

  nextBatch(maxBytes: number): Promise<RawExportBatch | null> {
    const callSite = new Error();
    let pending: Promise<RawExportBatch | null>;
    try {
      pending = this.#native.nextBatch(maxBytes);
    } catch (err) {
      return Promise.reject(toPagevaultError(err, callSite));
    }
    return pending.catch((err: unknown) => {
      throw toPagevaultError(err, callSite);
    });
  }

  stats(): RawExportStats {
    return this.#native.stats();
  }

  close(): void {
    this.#native.close();
  }
}

/**
 * nativeOpenExport: the addon's openExport, wrapped in an ExportHandle; synchronous, errors converted by
 * toPagevaultError. `metaPages` and `txnId` come from pinSnapshot (src/snapshot/pin.ts), which must stay pinned
 * until the export is closed or finished. `options.threads` defaults to defaultExportThreads(); a value that is not
 * an integer from 1 to 64 throws a RangeError.
 *
 * @example
 * ```ts
 * const pinned = await pinSnapshot(env);
 * const handle = nativeOpenExport(pinned.dataPath, pinned.metas.pages, pinned.txnId, [
 *   { name: 'users', prefix: '{"t":"entry","db":"users","k":', keyMode: 'string', valueMode: 'msgpack' },
 * ]);
 * try {
 *   for (let batch = await handle.nextBatch(4 << 20); batch; batch = await handle.nextBatch(4 << 20)) out.write(batch.data);
 * } finally {
 *   handle.close();
 *   pinned.release();
 * }
 * ```
 */
export function nativeOpenExport(
  path: string,
  metaPages: Buffer,
  txnId: number,
  dbs: ExportDbSpec[],
  options: ExportOptions = {},
): ExportHandle {
  const threads = options.threads ?? defaultExportThreads();
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new RangeError(`Expected an integer from 1 to 64 for threads but received ${String(threads)}`);
  }
  const callSite = new Error();
  try {
    return new ExportHandle(loadBinding().openExport(path, metaPages, txnId, dbs, { ...options, threads }));
  } catch (err) {
    throw toPagevaultError(err, callSite);
  }
}

/**
 * nativeEncodeDocLines: the addon's encodeDocLines (native/encode_doc_lines.h): every `doc` line of `lines` turned into
 * the key and value bytes lmdb-js would store for it, off the JS thread; other lines are left to the caller (kind 0).
 * `lines` holds whole NDJSON lines separated by '\n' (the last may lack its '\n') and must not be modified until the
 * promise settles. Calls are independent and may overlap (each runs on its own libuv pool thread). Throws a
 * TypeError for a non-Buffer and a RangeError for a Buffer of 2^32 - 1 bytes or more.
 *
 * @example
 * ```ts
 * const enc = await nativeEncodeDocLines(chunk);
 * for (let i = 0, d = 0; i < enc.kinds.length; i++) {
 *   if (enc.kinds[i] === 1) {
 *     const o = enc.docOffsets.subarray(4 * d, 4 * d + 4);
 *     docsRaw.putSync(enc.data.subarray(o[0], o[1]), enc.data.subarray(o[2], o[3]));
 *     // The id text: the key without the 27 byte that ordered-binary puts before a first character below 28.
 *     const id = enc.data.toString('utf8', enc.data[o[0]] === 27 ? o[0] + 1 : o[0], o[1]);
 *     etags.putSync(enc.etags[d++], id);
 *   } else {
 *     handle(JSON.parse(chunk.toString('utf8', enc.lineOffsets[2 * i], enc.lineOffsets[2 * i + 1])));
 *   }
 * }
 * ```
 */
export function nativeEncodeDocLines(lines: Buffer): Promise<EncodedDocLines> {
  if (!Buffer.isBuffer(lines)) {
    return Promise.reject(new TypeError(`Expected a Buffer for lines but received ${typeof lines}`));
  }
  if (lines.length >= 0xffffffff) {
    return Promise.reject(new RangeError(`Expected fewer than 2^32 - 1 bytes for lines but received ${lines.length}`));
  }
  const callSite = new Error();
  let pending: Promise<EncodedDocLines>;
  try {
    pending = loadBinding().encodeDocLines(lines);
  } catch (err) {
    return Promise.reject(toPagevaultError(err, callSite));
  }
  return pending.catch((err: unknown) => {
    throw toPagevaultError(err, callSite);
  });
}
