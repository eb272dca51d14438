// export_parallel.h: ParallelExport, the JSON export of export_cursor.h with the transcoding split across worker
// threads by key range, handing out exactly the bytes a single ExportCursor would, in the same order.
//
// Plan (at the first NextBatch, on the caller's thread): the databases are resolved, then each is cut into ranges by
// PlanExportRanges (contiguous subtrees of its main tree, about `range_leaves` leaf pages each; a database with few
// leaf pages stays one range). The ranges of all databases, in export order, are the segments.
//
// Workers: `threads` std::threads (no more than there are segments), each with its own ExportCursor and PageReader,
// claim segments in order and fill them into chunks of whole lines (about `chunk` bytes each; `chunk` is the first
// NextBatch's max_bytes clamped to [64 KiB, 1 MiB]). Blocks of chunks whose lines were copied out are recycled. Memory is bounded: a segment's queue holds at most
// kQueuedChunks finished chunks (its worker waits for the consumer beyond that), and a worker claims a segment only
// when it is fewer than `threads` + 1 segments ahead of the one being handed out. So at most
// (threads + 1) x kQueuedChunks chunks are held, plus one being filled per worker and the batch being assembled.
//
// NextBatch (one caller at a time, blocking) hands out the segments' chunks in segment order with the batch contract
// of export_cursor.h: whole lines, at least max_bytes of them unless the export ends, and past max_bytes by at most
// one line. A chunk that fits that contract goes out as it is (no copy); otherwise lines are copied from as many
// chunks as needed (cut at the first '\n' at or past max_bytes). So the concatenated batches are byte-identical to a
// single cursor's; only batch boundaries may differ (a single cursor keeps a dupSort sub-page's lines together).
//
// Errors: a segment's failure (kCorruptEnv, kIo, ...) is returned by the NextBatch that reaches that segment (its
// lines before the failure are dropped, as a single cursor drops its partial batch); a planning failure by the first
// NextBatch. After a failure every worker is stopped and later calls return the same failure.
//
// Cancel (any thread): stops every worker at its next entry or wait; a waiting NextBatch returns kAborted. The
// destructor cancels and joins the workers; they never block for long (each checks the flag per entry), so it may
// run on the JS thread. Thread creation failure aborts the process (std::thread without exceptions), like ByteSink's
// allocation failure.
//
// stats(): entries, bytes, fallbacks and batches as handed out; pages_read adds the planning reads and every
// worker's reads so far (including ranges filled ahead of the consumer).

#ifndef PAGEVAULT_NATIVE_EXPORT_PARALLEL_H_
#define PAGEVAULT_NATIVE_EXPORT_PARALLEL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "export_cursor.h"

namespace pagevault {

// ParallelExportOptions: `threads` >= 2 workers; `range_leaves`: the leaf pages per range (0: derived from the
// chunk size and page size, about one chunk of output per range).
struct ParallelExportOptions {
  uint32_t threads = 2;
  uint64_t range_leaves = 0;
};

// ParallelExport: see the top of this file.
class ParallelExport : public ExportBatchSource {
 public:
  ParallelExport(SnapshotPlan plan, std::vector<ExportDbSpec> dbs, ParallelExportOptions options);
  ~ParallelExport() override;
  ParallelExport(const ParallelExport&) = delete;
  ParallelExport& operator=(const ParallelExport&) = delete;

  Status NextBatch(uint64_t max_bytes, ExportBatch* out) override;
  ExportStats stats() const override;
  void Cancel() override;

  // kQueuedChunks: finished chunks a segment may hold before its worker waits.
  static constexpr size_t kQueuedChunks = 3;
  // kSpareBlocks: consumed chunk blocks kept for reuse.
  static constexpr size_t kSpareBlocks = 8;

 private:
  // Chunk: one worker batch; owns `batch.data`.
  struct Chunk {
    ExportBatch batch;
    size_t offset = 0;          // bytes already handed out
    uint64_t entries_taken = 0;  // lines already handed out
    size_t fallbacks_taken = 0;  // entries of batch.fallback_ends already handed out
    explicit Chunk(ExportBatch b) : batch(std::move(b)) {}
    Chunk(Chunk&& other) noexcept;
    Chunk& operator=(Chunk&&) = delete;
    Chunk(const Chunk&) = delete;
    ~Chunk() { std::free(batch.data); }
  };
  struct Segment {
    ExportRange range;
    std::deque<Chunk> queue;
    bool done = false;  // its worker finished it (status says how)
    Status status;
  };

  Status Start(uint64_t max_bytes);
  void WorkerMain();
  // FillSegment: one worker's run over segment `index`; false when it should stop (cancelled or failed).
  bool FillSegment(ExportCursor* cursor, size_t index, uint64_t* pages_seen);
  // Take: moves lines of `front` (a segment's front chunk) into the batch being assembled (see the top of this
  // file). Runs without the lock.
  void Take(Chunk* front, uint64_t max_bytes, ByteSink* sink, ExportBatch* out, bool* whole_chunk);
  void Fail(const Status& status);

  std::shared_ptr<ExportSetup> setup_;
  ParallelExportOptions options_;
  uint64_t chunk_ = 0;
  bool started_ = false;
  Status failure_;
  ExportStats stats_;  // the consumer's counters (pages_read aside)
  uint64_t plan_pages_ = 0;
  std::atomic<uint64_t> worker_pages_{0};
  std::atomic<bool> cancel_{false};

  std::mutex mu_;
  std::condition_variable data_cv_;   // the consumer waits for a chunk or a segment's end
  std::condition_variable space_cv_;  // workers wait for queue room or a claimable segment
  std::vector<Segment> segments_;     // fixed after Start; guarded by mu_ afterwards (queues, done, status)
  size_t next_claim_ = 0;             // guarded by mu_
  size_t current_ = 0;                // the segment being handed out; guarded by mu_
  std::vector<std::thread> workers_;
  // Blocks of chunks whose lines were copied out, for the workers' next chunks (a new 1 MiB block per chunk costs
  // a page fault per 4 KiB written); guarded by mu_, at most kSpareBlocks.
  struct Block {
    uint8_t* data;
    size_t capacity;
  };
  std::vector<Block> spare_;
};

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_EXPORT_PARALLEL_H_
