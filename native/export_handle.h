// export_handle.h: the JS side of the native JSON export: openExport() and ExportHandle.
//
//   openExport(path: string, metaPages: Buffer, txnId: number, dbs: ExportDbSpec[],
//              options?: {threads?: number, rangeLeafPages?: number}): ExportHandle
//     SYNCHRONOUS and I/O-free: decodes the meta bytes (PlanSnapshot: slot txnId & 1 must hold txnId) and the database
//     specs (shape in src/native/binding.ts and export_cursor.h). `threads` (1..64, default 1 here; the TS wrapper
//     picks the default): 1 runs one ExportCursor on the pool thread of each nextBatch; more runs a ParallelExport
//     (export_parallel.h) with that many worker threads, same output bytes. `rangeLeafPages` (tests): the leaf pages
//     per range of a parallel export. Throws a TypeError for malformed arguments, the
//     native error (PAGEVAULT_ERR_CORRUPT_ENV, ...) for bad meta bytes, PAGEVAULT_ERR_UNSUPPORTED_FORMAT for an
//     encrypted environment (its pages cannot be parsed). Databases are looked up at the first nextBatch, which
//     rejects with PAGEVAULT_ERR_NOT_FOUND when one does not exist.
//   handle.nextBatch(maxBytes): Promise<{data: Buffer, entries: number, fallbacks: number} | null>
//     the next whole NDJSON lines (at least maxBytes of them unless the export ends first), filled on the libuv pool;
//     null at the end (and on every call after it)
//   handle.stats(): {entries, bytes, fallbacks, pagesRead, batches}   as of the last finished call
//   handle.close(): void   idempotent; a pending nextBatch rejects with PAGEVAULT_ERR_ABORTED (or settles normally if
//     it had already finished)
//
// Pull-driven (STYLE.md habit 5): one nextBatch at a time; a second while one is pending throws. Ownership and
// teardown follow snapshot_handle.h: the handle and its running worker share the ExportBatchSource; close() cancels
// it and drops the handle's share (the last share joins a ParallelExport's threads, promptly once cancelled). Batch buffers are handed to JS without a copy (external Buffers, which V8
// accounts itself) and are owned by JS from then on. Handles are type-tagged per addon load.

#ifndef PAGEVAULT_NATIVE_EXPORT_HANDLE_H_
#define PAGEVAULT_NATIVE_EXPORT_HANDLE_H_

#include <napi.h>

#include <memory>

#include "export_cursor.h"

namespace pagevault {

// ExportHandle: see the top of this file. Created only by openExport (the constructor refuses JS callers).
class ExportHandle : public Napi::ObjectWrap<ExportHandle> {
 public:
  // Init: defines the class, keeps its constructor and type tags in the addon's instance data, exports openExport.
  static void Init(Napi::Env env, Napi::Object exports);

  explicit ExportHandle(const Napi::CallbackInfo& info);
  ~ExportHandle() override;

 private:
  enum class Phase { kReady, kReading, kDone, kFailed, kClosed };

  // WorkerDone: the worker's completion on the JS thread: no longer busy, the phase that follows `ok`/`end`, the
  // stats copied, and after close() the source dropped.
  void WorkerDone(bool ok, bool end);

  Napi::Value JsNextBatch(const Napi::CallbackInfo& info);
  Napi::Value JsStats(const Napi::CallbackInfo& info);
  Napi::Value JsClose(const Napi::CallbackInfo& info);
  bool CheckThis(const Napi::CallbackInfo& info) const;

  friend class ExportBatchWorker;

  std::shared_ptr<ExportBatchSource> source_;
  ExportStats stats_;
  Phase phase_ = Phase::kReady;
  bool busy_ = false;
};

// JsOpenExport: the module function documented at the top of this file.
Napi::Value JsOpenExport(const Napi::CallbackInfo& info);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_EXPORT_HANDLE_H_
