// snapshot_handle.h: the JS side of page snapshots: readMetaPages(), openSnapshot() and SnapshotHandle.
//
//   readMetaPages(path: string): RawMetaPages
//     SYNCHRONOUS: two preads of pages 0 and 1 (at most 2 x 64 KiB), done on the JS thread on purpose: the caller
//     runs it inside an lmdb-js write transaction, where no commit can move the metas, and must leave that callback
//     quickly; a pool round trip would only hold the write lock longer.
//   openSnapshot(path: string, metaPages: Buffer, txnId: number, baseTxnId: number): SnapshotHandle
//     SYNCHRONOUS and I/O-free: decodes the meta bytes (PlanSnapshot) and builds the normalized metas. Throws the
//     native error (code PAGEVAULT_ERR_CORRUPT_ENV, ..._INCREMENTAL_UNAVAILABLE, ...) or a TypeError/RangeError.
//   handle.collect(): Promise<RawSnapshotStats>     walk the trees on the libuv pool; once, before nextBatch
//   handle.nextBatch(maxBytes): Promise<{runs: Float64Array, data: Buffer} | null>   next pages; null at the end
//   handle.stats(): RawSnapshotStats                the counters as of the last finished call
//   handle.close(): void                            idempotent; cancels a running worker
//   handle.txnId, baseTxnId, pageSize, lastPage, dataVersion, pageHeaderSize, encrypted, metaPages (read-only)
//
// Pull-driven (STYLE.md habit 5): at most one collect/nextBatch runs at a time; starting another while one is
// pending throws. Ownership: the handle and its running worker share the SnapshotState; close() sets its cancel
// flag and drops the handle's share, so the file descriptor closes when the worker (if any) finishes. A worker
// that sees the flag rejects with PAGEVAULT_ERR_ABORTED; one that finished first settles normally. Batch buffers
// are handed to JS without a copy and are owned by JS from then on. Handles are type-tagged per addon load (habit 7).
// Teardown of a worker thread: Node first waits for running pool work (Environment::CleanupHandles), so a walk or
// batch in flight finishes (bounded by one walk or one batch) and its completion then sees failing napi calls,
// which it checks for; the state is freed with the last of the handle and the worker.

#ifndef PAGEVAULT_NATIVE_SNAPSHOT_HANDLE_H_
#define PAGEVAULT_NATIVE_SNAPSHOT_HANDLE_H_

#include <napi.h>

#include <memory>

#include "snapshot_state.h"

namespace pagevault {

// SnapshotHandle: see the top of this file. Created only by openSnapshot (the constructor refuses JS callers).
class SnapshotHandle : public Napi::ObjectWrap<SnapshotHandle> {
 public:
  // Init: defines the class and keeps its constructor and type tag in the addon's instance data.
  static void Init(Napi::Env env, Napi::Object exports);

  explicit SnapshotHandle(const Napi::CallbackInfo& info);
  ~SnapshotHandle() override;

  // WorkerDone: called by a worker's OnOK on the JS thread: copies the stats and, after close(), drops the state.
  void WorkerDone();

  const std::shared_ptr<SnapshotState>& state() const { return state_; }

 private:
  enum class Phase { kOpen, kCollecting, kReady, kReading, kDone, kFailed, kClosed };
  // WorkerFailed: a worker's OnError: no longer busy, the phase it was running (`running`) becomes kFailed, then
  // WorkerDone.
  void WorkerFailed(Phase running);

  Napi::Value JsCollect(const Napi::CallbackInfo& info);
  Napi::Value JsNextBatch(const Napi::CallbackInfo& info);
  Napi::Value JsStats(const Napi::CallbackInfo& info);
  Napi::Value JsClose(const Napi::CallbackInfo& info);
  // CheckThis: false (with a TypeError pending) unless `this` was tagged by this addon load.
  bool CheckThis(const Napi::CallbackInfo& info) const;

  friend class CollectWorker;
  friend class BatchWorker;

  std::shared_ptr<SnapshotState> state_;
  SnapshotStats stats_;
  uint32_t page_size_ = 0;
  Phase phase_ = Phase::kOpen;
  bool busy_ = false;
};

// JsReadMetaPages, JsOpenSnapshot: the module functions documented at the top of this file.
Napi::Value JsReadMetaPages(const Napi::CallbackInfo& info);
Napi::Value JsOpenSnapshot(const Napi::CallbackInfo& info);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_SNAPSHOT_HANDLE_H_
