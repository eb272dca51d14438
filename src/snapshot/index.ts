/**
 * snapshot: reading LMDB environments from the outside, through pagevault's native page reader.
 *
 * This module owns everything that looks at an environment's data file: `envInfo` (meta pages, format, named
 * databases) and the pinned-format constants; page snapshots: `pinSnapshot` (pins transaction T under lmdb-js's
 * writer lock), `openPageSource` (the pages of T, full or incremental, streamed in bounded batches), the page
 * record stream (`PageRecordEncoder`/`PageRecordDecoder`, the payload of a backup file) and writing snapshots
 * back into data files (`writeSnapshotFile`, `applyPageRecords`). It is one of the two modules allowed to
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
export {
  DEFAULT_MAX_BATCH_BYTES,
  MAX_BATCH_BYTES_LIMIT,
  openPageSource,
  type PageBatch,
  type PageSource,
  type PageSourceOptions,
  type PageSourceStats,
} from './page-source.js';
export { pinSnapshot, type PinnedSnapshot } from './pin.js';
export {
  decodePageRecords,
  encodePageRecords,
  PAGE_RECORDS_VERSION,
  PageRecordDecoder,
  PageRecordEncoder,
  type PageRecord,
  type PageRecordSource,
  type PageStreamHeader,
} from './page-records.js';
export {
  applyPageRecords,
  SnapshotFileWriter,
  writeSnapshotFile,
  type SnapshotFileMode,
  type SnapshotFileResult,
  type SnapshotFileWriterOptions,
} from './snapshot-file.js';
export { ChainWriter, type ChainFileResult } from './chain-writer.js';
export { openExportSource, type ExportBatch, type ExportDbSpec, type ExportSource } from './export-source.js';
export { envPathOf, findOpenRoot, openRootFor } from './open-root.js';
