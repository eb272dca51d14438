/**
 * export-source: `openExportSource(pinned, dbs, options)`, the native export cursor over one
 * pinned snapshot: it walks the B-trees of the listed databases (in the order given, each in
 * key order) off the JS thread and returns whole JSON lines (src/json/records.ts) in batches,
 * transcoding stored msgpack to JSON in C++ (native/export_*). Large databases are cut into
 * key ranges transcoded on several threads, handed out in order. JS pulls one batch at a
 * time, and the threads keep only a few batches ahead, so memory stays bounded whatever
 * the database size.
 *
 * The caller keeps `pinned` pinned until the source is closed: the cursor reads pages by
 * page number, and only the pin keeps LMDB from reusing them.
 */
import { nativeOpenExport, type ExportDbSpec, type ExportOptions, type NativeExportHandle } from '../native/binding.js';
import type { PinnedSnapshot } from './pin.js';

export type { ExportDbSpec, ExportOptions };

/** ExportBatch: whole lines; `entries` of them, `fallbacks` of which carry stored bytes. */
export interface ExportBatch {
  data: Buffer;
  entries: number;
  fallbacks: number;
}

/** ExportSource: see the module comment. `close()` is idempotent; a pending batch then rejects with AbortedError. */
export interface ExportSource {
  nextBatch(maxBytes: number): Promise<ExportBatch | null>;
  close(): void;
}

/**
 * openExportSource: a native export cursor over `dbs` of `pinned`. Unknown database names reject with NotFoundError.
 * `options.threads` (default: defaultExportThreads(), the cores up to 4) splits large databases by key range across
 * that many threads; the lines and their order are the same for every value.
 */
export function openExportSource(pinned: PinnedSnapshot, dbs: ExportDbSpec[], options: ExportOptions = {}): ExportSource {
  const handle: NativeExportHandle = nativeOpenExport(pinned.dataPath, pinned.metas.pages, pinned.txnId, dbs, options);
  return {
    nextBatch: (maxBytes) => handle.nextBatch(maxBytes),
    close: () => handle.close(),
  };
}
