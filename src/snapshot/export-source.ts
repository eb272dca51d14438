/**
 * export-source: `openExportSource(pinned, dbs)`, the native export cursor over one pinned
 * snapshot: it walks the B-trees of the listed databases (in the order given, each in key
 * order) off the JS thread and returns whole JSON lines (src/json/records.ts) in batches,
 * transcoding stored msgpack to JSON in C++ (native/export_*). JS pulls one batch at a
 * time, so memory stays bounded by the batch size whatever the database size.
 *
 * The caller keeps `pinned` pinned until the source is closed: the cursor reads pages by
 * page number, and only the pin keeps LMDB from reusing them.
 */
import { nativeOpenExport, type ExportDbSpec, type NativeExportHandle } from '../native/binding.js';
import type { PinnedSnapshot } from './pin.js';

export type { ExportDbSpec };

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

/** openExportSource: a native export cursor over `dbs` of `pinned`. Unknown database names reject with NotFoundError. */
export function openExportSource(pinned: PinnedSnapshot, dbs: ExportDbSpec[]): ExportSource {
  const handle: NativeExportHandle = nativeOpenExport(pinned.dataPath, pinned.metas.pages, pinned.txnId, dbs);
  return {
    nextBatch: (maxBytes) => handle.nextBatch(maxBytes),
    close: () => handle.close(),
  };
}
