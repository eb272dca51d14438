/**
 * snapshot: reading LMDB environments from the outside, through pagevault's native page reader.
 *
 * This module owns everything that looks at an environment's data file: today `envInfo` (meta pages, format, named
 * databases) and the pinned-format constants; page snapshots build on it. It is one of the two modules allowed to
 * use the native seam (`src/native/binding.ts`, STYLE.md habit 14).
 *
 * Ground rule (LMDB-INTERNALS.md §0): nothing here opens `lock.mdb` or links a second LMDB library. Data pages are
 * read with pread from `data.mdb`; when a stable snapshot is needed, lmdb-js holds the read transaction that pins
 * it. This keeps lmdb-js's reader table and locks intact in the same process.
 */
export {
  envInfo,
  SUPPORTED_DATA_VERSION,
  SUPPORTED_LMDB_JS,
  SUPPORTED_PAGE_HEADER_SIZE,
  type DatabaseStats,
  type EnvInfo,
  type LmdbFormat,
  type NamedDatabaseInfo,
} from './env-info.js';
