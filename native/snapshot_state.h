// snapshot_state.h: SnapshotState, the plain C++ side of one page snapshot: the data file, the collected runs of
// pages to ship, and the cursor of the batch stream.
//
// Threading and ownership: a SnapshotState is shared (std::shared_ptr) by its JS handle and by the one AsyncWorker
// running on it, so closing the handle never frees state under a running worker. Collect and NextBatch run on a
// libuv pool thread, one call at a time (the handle allows one outstanding worker); no JS thread code touches the
// state while a worker runs, except `cancel`, an atomic that any thread may set.

#ifndef PAGEVAULT_NATIVE_SNAPSHOT_STATE_H_
#define PAGEVAULT_NATIVE_SNAPSHOT_STATE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "errors.h"
#include "page_reader.h"
#include "snapshot_meta.h"
#include "snapshot_pages.h"
#include "snapshot_walk.h"

namespace pagevault {

// SnapshotStats: counters of one snapshot, copied to JS after each worker.
struct SnapshotStats {
  WalkStats walk;
  uint64_t pages_to_ship = 0;  // after Collect: pages in the runs (without the two meta pages)
  uint64_t runs = 0;           // after Collect: maximal runs of consecutive pages
  uint64_t pages_shipped = 0;  // pages returned by NextBatch so far
  uint64_t batches = 0;        // non-empty batches returned so far
};

// Batch: one NextBatch result. `runs` holds [first page, page count] pairs in ascending page order; `data` holds
// those pages' bytes, concatenated in the same order (size bytes). Empty (size 0) at the end of the stream.
struct Batch {
  std::vector<double> runs;
  std::unique_ptr<uint8_t[]> data;
  size_t size = 0;
};

// SnapshotState: see the top of this file.
class SnapshotState {
 public:
  explicit SnapshotState(SnapshotPlan plan) : plan_(std::move(plan)) {}

  // Collect: opens the data file, checks it still has the plan's layout, and decides which pages to ship: for a full
  // snapshot of an encrypted env every page 2..last_pg that the file holds (no key needed); otherwise the tree walk
  // of SnapshotWalker, over pages decrypted with the plan's key for an encrypted env (kWrongKey when the key does
  // not decrypt the tree roots). Shipped pages are always the stored bytes. Call once, before NextBatch. Blocking.
  Status Collect();

  // NextBatch: reads the next pages of the runs, at most max(1, max_bytes / page size) of them, with one pread per
  // run piece, into `*out`. An empty batch means the end. After a failure every later call fails too. Blocking.
  Status NextBatch(uint64_t max_bytes, Batch* out);

  const SnapshotPlan& plan() const { return plan_; }
  const SnapshotStats& stats() const { return stats_; }

  std::atomic<bool> cancel{false};

 private:
  SnapshotPlan plan_;
  std::unique_ptr<PageReader> reader_;
  std::vector<PageRun> runs_;
  size_t run_index_ = 0;      // the run NextBatch continues with
  uint64_t run_offset_ = 0;   // pages of runs_[run_index_] already shipped
  SnapshotStats stats_;
  Status failure_;            // set by the first failed NextBatch
};

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_SNAPSHOT_STATE_H_
