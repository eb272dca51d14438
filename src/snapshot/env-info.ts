/**
 * env-info: `envInfo(path)`, a read-only description of an LMDB environment (page size, map size, last page, last
 * transaction, named databases) taken from its data file by pagevault's native page reader.
 *
 * It opens only the data file, never `lock.mdb`, and links no LMDB, so it is safe to call in a process where
 * lmdb-js has the same environment open (LMDB-INTERNALS.md §0): lmdb-js's readers and locks are not touched.
 */
import { resolve } from 'node:path';

import { InvalidArgumentError, UnsupportedFormatError } from '../errors.js';
import { nativeEnvInfo, type RawDbRecord } from '../native/binding.js';

/**
 * SUPPORTED_LMDB_JS: the exact lmdb-js release whose files pagevault is built and tested against. lmdb-js releases
 * have changed the on-disk free-list format under one data version (kriszyp/lmdb-js#344), so the pin is exact; a
 * test fails when the installed `lmdb` differs.
 */
export const SUPPORTED_LMDB_JS = '3.5.6';

/** SUPPORTED_DATA_VERSION: the LMDB data version SUPPORTED_LMDB_JS writes (its default `mdb.master3` build). */
export const SUPPORTED_DATA_VERSION = 2;

/** SUPPORTED_PAGE_HEADER_SIZE: the page header size of SUPPORTED_DATA_VERSION on 64-bit builds, in bytes. */
export const SUPPORTED_PAGE_HEADER_SIZE = 24;

/** LmdbFormat: which on-disk layout the data file uses. */
export interface LmdbFormat {
  /** 2 for lmdb-js 3.x (default build), 1 for LMDB 0.9 and lmdb-js built with `use_data_v1`. */
  dataVersion: 1 | 2;
  /** Page header size in bytes: 24 in data version 2, 16 in version 1 (64-bit builds). */
  pageHeaderSize: 16 | 24;
  /** Human-readable name, e.g. 'lmdb-js data v2' or 'LMDB 0.9 data v1'. */
  description: string;
}

/** DatabaseStats: one database's MDB_db record, as stored on disk for the snapshot envInfo read. */
export interface DatabaseStats {
  /**
   * LMDB database flags: 0x02 REVERSEKEY, 0x04 DUPSORT, 0x08 INTEGERKEY (lmdb-js `keyEncoding: 'uint32'`),
   * 0x10 DUPFIXED, 0x20 INTEGERDUP, 0x40 REVERSEDUP, 0x100 lmdb-js `useVersions` (data version 2 only).
   */
  flags: number;
  /** Depth of the B-tree; 0 for an empty database. */
  depth: number;
  /** Number of entries (for dupSort databases, of key/value pairs). */
  entries: number;
  /** Page number of the root, or null when the database is empty. */
  rootPage: number | null;
  branchPages: number;
  leafPages: number;
  overflowPages: number;
}

/** NamedDatabaseInfo: a named database (lmdb-js `openDB(name)`) and its record. */
export interface NamedDatabaseInfo extends DatabaseStats {
  /** The name as given to `openDB`, decoded as UTF-8. */
  name: string;
}

/** EnvInfo: what envInfo reports about one environment, all from the current meta page (the larger txn id). */
export interface EnvInfo {
  /** Absolute path of the data file that was read (`<dir>/data.mdb`, or the file itself for noSubdir envs). */
  dataPath: string;
  /** Size of the data file in bytes when it was read; it may be smaller or larger than `(lastPage + 1) * pageSize`. */
  fileSize: number;
  format: LmdbFormat;
  pageSize: number;
  /** Map size recorded in the meta (lmdb-js `getStats().mapSize` of the writer that last committed). */
  mapSize: number;
  /** Last page in use (`mm_last_pg`; lmdb-js `getStats().lastPageNumber`). */
  lastPage: number;
  /** Transaction id of the last commit (`mm_txnid`; lmdb-js `getStats().lastTxnId`). */
  lastTxnId: number;
  /** Which meta page (0 or 1) is current. */
  metaSlot: 0 | 1;
  /**
   * Persistent env flags from the meta (`mm_flags`, the free-list record's flags): 0x08 is always set (the free
   * list's INTEGERKEY), 0x4000 NOSUBDIR, 0x01 FIXEDMAP; in lmdb-js files also 0x1000 (committed with
   * overlappingSync, not yet flushed) and 0x2000 (encrypted).
   */
  envFlags: number;
  /** True when pages are encrypted (lmdb-js `encryptionKey`); the trees were then not parsed. */
  encrypted: boolean;
  /** The main database's record: its entries include one per named database plus lmdb-js root-store entries. */
  mainDb: DatabaseStats;
  /** Number of named databases, or null when `encrypted`. */
  namedDatabaseCount: number | null;
  /** The named databases in byte order of their names, or null when `encrypted`. */
  namedDatabases: NamedDatabaseInfo[] | null;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') {
    return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  }
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object';
  }
  if (typeof value === 'function') return 'a function';
  return `${typeof value} ${String(value)}`;
}

function toStats(record: RawDbRecord): DatabaseStats {
  return {
    flags: record.flags,
    depth: record.depth,
    entries: record.entries,
    rootPage: record.rootPage,
    branchPages: record.branchPages,
    leafPages: record.leafPages,
    overflowPages: record.overflowPages,
  };
}

/**
 * envInfo: describes the LMDB environment at `path`: an environment directory (containing `data.mdb`) or, for a
 * noSubdir environment, its data file.
 *
 * Contract:
 * - Read-only; opens only the data file (never `lock.mdb`), with pread on the libuv thread pool, so it neither
 *   blocks the event loop nor disturbs lmdb-js handles on the same environment in this or other processes.
 * - Reports the current meta (larger txn id) without pinning it. If a writer commits during the call, the main tree
 *   walk is retried from fresh metas; the result is one consistent snapshot, possibly already superseded.
 * - Encrypted environments report `encrypted: true` and null named databases (their tree pages are ciphertext).
 * - Never throws synchronously; the promise rejects with:
 *   TypeError (`path` not a string), InvalidArgumentError (empty or containing NUL), NotFoundError (no such path,
 *   or a directory without data.mdb; `cause` is the ENOENT error), NotLmdbError (no LMDB meta magic, empty or not a
 *   regular file), UnsupportedFormatError (unknown data version, 32-bit or big-endian layout, page size not a
 *   power of two in 512..65536), CorruptEnvError (a structural check failed: page number, bounds, txn id, counts,
 *   truncation), IoError (any other system error; `cause` has errno/syscall/path), NativeLoadError (addon
 *   missing).
 *
 * @example
 * ```ts
 * const info = await envInfo('/var/lib/app/db');
 * console.log(info.pageSize, info.lastTxnId, info.namedDatabases?.map((db) => db.name));
 * ```
 */
export async function envInfo(path: string): Promise<EnvInfo> {
  if (typeof path !== 'string') {
    throw new TypeError(`Expected a string for path but received ${describeValue(path)}`);
  }
  if (path === '' || path.includes('\0')) {
    throw new InvalidArgumentError(
      `Expected a non-empty path without NUL characters for path but received ${describeValue(path)}`,
    );
  }
  const raw = await nativeEnvInfo(resolve(path));
  if ((raw.dataVersion !== 1 && raw.dataVersion !== 2) || (raw.pageHeaderSize !== 16 && raw.pageHeaderSize !== 24)) {
    // The addon only recognises these two layouts; anything else means a mismatched build.
    throw new UnsupportedFormatError(`native addon reported data version ${raw.dataVersion}`);
  }
  const namedDatabases =
    raw.namedDatabases === null ? null : raw.namedDatabases.map((db) => ({ name: db.name, ...toStats(db) }));
  return {
    dataPath: raw.dataPath,
    fileSize: raw.fileSize,
    format: { dataVersion: raw.dataVersion, pageHeaderSize: raw.pageHeaderSize, description: raw.formatDescription },
    pageSize: raw.pageSize,
    mapSize: raw.mapSize,
    lastPage: raw.lastPage,
    lastTxnId: raw.lastTxnId,
    metaSlot: raw.metaSlot === 1 ? 1 : 0,
    envFlags: raw.envFlags,
    encrypted: raw.encrypted,
    mainDb: toStats(raw.mainDb),
    namedDatabaseCount: namedDatabases === null ? null : namedDatabases.length,
    namedDatabases,
  };
}
