// export_parallel.cc: see export_parallel.h.

#include "export_parallel.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace pagevault {

namespace {

constexpr uint64_t kMinChunk = uint64_t{64} << 10;
constexpr uint64_t kMaxChunk = uint64_t{1} << 20;
// Planning stops cutting beyond this many ranges in all (each is a few words plus its roots).
constexpr size_t kMaxRanges = size_t{1} << 16;

// CountLines: the '\n' bytes in [begin, end).
uint64_t CountLines(const uint8_t* begin, const uint8_t* end) {
  uint64_t lines = 0;
  while (begin < end) {
    const void* nl = std::memchr(begin, '\n', static_cast<size_t>(end - begin));
    if (nl == nullptr) break;
    ++lines;
    begin = static_cast<const uint8_t*>(nl) + 1;
  }
  return lines;
}

}  // namespace

ParallelExport::Chunk::Chunk(Chunk&& other) noexcept
    : batch(std::move(other.batch)),
      offset(other.offset),
      entries_taken(other.entries_taken),
      fallbacks_taken(other.fallbacks_taken) {
  other.batch.data = nullptr;
  other.batch.size = 0;
}

ParallelExport::ParallelExport(SnapshotPlan plan, std::vector<ExportDbSpec> dbs, ParallelExportOptions options)
    : setup_(std::make_shared<ExportSetup>()), options_(options) {
  setup_->plan = std::move(plan);
  setup_->dbs = std::move(dbs);
  if (options_.threads < 1) options_.threads = 1;
}

ParallelExport::~ParallelExport() {
  Cancel();
  for (std::thread& worker : workers_) worker.join();
  for (const Block& block : spare_) std::free(block.data);
}

void ParallelExport::Cancel() {
  {
    // Set under the lock so that a thread between checking its wait predicate and blocking cannot miss it.
    std::lock_guard<std::mutex> lock(mu_);
    cancel_.store(true);
  }
  data_cv_.notify_all();
  space_cv_.notify_all();
}

ExportStats ParallelExport::stats() const {
  ExportStats stats = stats_;
  stats.pages_read = plan_pages_ + worker_pages_.load();
  return stats;
}

void ParallelExport::Fail(const Status& status) {
  failure_ = status;
  Cancel();  // every worker stops; nothing after this segment will be handed out
}

Status ParallelExport::Start(uint64_t max_bytes) {
  const SnapshotPlan& plan = setup_->plan;
  std::unique_ptr<PageReader> reader;
  Status status = PageReader::Open(plan.data_path, &reader);
  if (!status.ok()) return status;
  status = reader->AdoptFormat(plan.format, plan.page_size);
  if (!status.ok()) return status;
  status = ResolveExportDbs(*reader, setup_.get());
  if (!status.ok()) return status;
  chunk_ = std::clamp(max_bytes, kMinChunk, kMaxChunk);
  // About one chunk of output per range: JSON lines of lmdb-js records take about twice the bytes of the leaf
  // pages they come from (7.8 KiB per 4 KiB leaf on the bench dataset). Ranges smaller than the queue let a worker
  // finish one ahead of the consumer; one that outgrows it only makes its worker wait. Measured on the bench
  // dataset: ranges of 128-256 leaves ran about 1.2M entries/s on 2 threads, ranges of 2048 leaves 0.75-0.95M.
  const uint64_t range_leaves =
      options_.range_leaves != 0 ? options_.range_leaves : std::max<uint64_t>(16, chunk_ / reader->page_size() / 2);
  std::vector<ExportRange> ranges;
  for (size_t db = 0; db < setup_->dbs.size(); ++db) {
    const size_t room = kMaxRanges > ranges.size() ? kMaxRanges - ranges.size() : 1;
    status = PlanExportRanges(*reader, *setup_, db, range_leaves, room, &ranges, &plan_pages_);
    if (!status.ok()) return status;
  }
  // Built in place: a Segment is not copyable and its deque's move may throw, so vector growth could not move it.
  segments_ = std::vector<Segment>(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) segments_[i].range = std::move(ranges[i]);
  const size_t threads = std::min<size_t>(options_.threads, segments_.size());
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back(&ParallelExport::WorkerMain, this);
  return Status::Ok();
}

void ParallelExport::WorkerMain() {
  ExportCursor cursor(setup_, &cancel_);
  cursor.RecordFallbackEnds(true);
  uint64_t pages_seen = 0;
  const size_t window = options_.threads + 1;
  for (;;) {
    size_t index;
    {
      std::unique_lock<std::mutex> lock(mu_);
      space_cv_.wait(lock, [&] {
        return cancel_.load() || next_claim_ >= segments_.size() || next_claim_ < current_ + window;
      });
      if (cancel_.load() || next_claim_ >= segments_.size()) return;
      index = next_claim_++;
    }
    if (!FillSegment(&cursor, index, &pages_seen)) return;
  }
}

bool ParallelExport::FillSegment(ExportCursor* cursor, size_t index, uint64_t* pages_seen) {
  Segment& seg = segments_[index];  // segments_ is never resized after Start: the reference stays valid
  cursor->SetRange(seg.range);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!spare_.empty()) {
        cursor->Recycle(spare_.back().data, spare_.back().capacity);
        spare_.pop_back();
      }
    }
    ExportBatch batch;
    const Status status = cursor->NextBatch(chunk_, &batch);
    const uint64_t pages = cursor->stats().pages_read;
    worker_pages_.fetch_add(pages - *pages_seen);
    *pages_seen = pages;
    Chunk chunk(std::move(batch));  // owns the bytes from here, whatever happens below
    std::unique_lock<std::mutex> lock(mu_);
    if (!status.ok() || chunk.batch.size == 0) {
      seg.status = status;
      seg.done = true;
      data_cv_.notify_all();
      return status.ok();
    }
    space_cv_.wait(lock, [&] { return cancel_.load() || seg.queue.size() < kQueuedChunks; });
    if (cancel_.load()) return false;
    seg.queue.push_back(std::move(chunk));
    data_cv_.notify_all();
  }
}

void ParallelExport::Take(Chunk* front, uint64_t max_bytes, ByteSink* sink, ExportBatch* out, bool* whole_chunk) {
  // Called without the lock: the front chunk is only touched by the consumer, and deque::push_back (the workers'
  // only change) keeps references to existing elements valid. The deque itself is not touched here: push_back may
  // be reallocating its map.
  Chunk& chunk = *front;
  const uint8_t* data = chunk.batch.data;
  const size_t size = chunk.batch.size;
  const size_t from = chunk.offset;
  const uint64_t need = max_bytes > sink->size() ? max_bytes - sink->size() : 1;
  // The batch must reach max_bytes and end at the first line end from there: cut after the first '\n' at or past
  // byte from + need - 1 (every chunk ends with '\n').
  size_t cut = size;
  if (need - 1 < size - from) {
    const void* nl = std::memchr(data + from + (need - 1), '\n', size - from - (need - 1));
    if (nl != nullptr) cut = static_cast<size_t>(static_cast<const uint8_t*>(nl) - data) + 1;
  }
  if (sink->size() == 0 && from == 0 && cut == size && size >= max_bytes) {
    // The chunk is exactly what a single cursor's batch would hold: hand it over without a copy.
    out->data = chunk.batch.data;
    out->size = size;
    out->entries = chunk.batch.entries;
    out->fallbacks = chunk.batch.fallbacks;
    chunk.batch.data = nullptr;
    chunk.offset = size;
    *whole_chunk = true;
    return;
  }
  if (sink->capacity() == 0) {
    // Room for the whole batch and its last line, as ExportCursor reserves; more is rare and grows the block.
    sink->Reserve(static_cast<size_t>(std::min<uint64_t>(max_bytes, uint64_t{64} << 20)) + (size - from));
  }
  sink->Append(data + from, cut - from);
  const uint64_t lines = cut == size ? chunk.batch.entries - chunk.entries_taken : CountLines(data + from, data + cut);
  chunk.entries_taken += lines;
  out->entries += lines;
  const std::vector<size_t>& ends = chunk.batch.fallback_ends;
  size_t fallbacks = 0;
  while (chunk.fallbacks_taken < ends.size() && ends[chunk.fallbacks_taken] <= cut) {
    ++chunk.fallbacks_taken;
    ++fallbacks;
  }
  out->fallbacks += fallbacks;
  chunk.offset = cut;
}

Status ParallelExport::NextBatch(uint64_t max_bytes, ExportBatch* out) {
  *out = ExportBatch();
  if (!failure_.ok()) return failure_;
  if (!started_) {
    started_ = true;
    Status status = Start(max_bytes);
    if (!status.ok()) {
      Fail(status);
      return failure_;
    }
  }
  ByteSink sink;
  bool whole = false;
  std::unique_lock<std::mutex> lock(mu_);
  while (current_ < segments_.size()) {
    Segment& seg = segments_[current_];
    data_cv_.wait(lock, [&] { return cancel_.load() || !seg.queue.empty() || seg.done; });
    if (cancel_.load()) break;
    if (!seg.queue.empty()) {
      Chunk* front = &seg.queue.front();
      lock.unlock();
      Take(front, max_bytes, &sink, out, &whole);
      lock.lock();
      if (front->offset == front->batch.size) {  // still the front: only this thread pops
        if (front->batch.data != nullptr && spare_.size() < kSpareBlocks) {
          spare_.push_back(Block{front->batch.data, front->batch.capacity});
          front->batch.data = nullptr;
        }
        seg.queue.pop_front();
        space_cv_.notify_all();
      }
      if (whole || sink.size() >= max_bytes) break;
      continue;
    }
    // The segment is done and drained.
    if (!seg.status.ok()) {
      lock.unlock();
      *out = ExportBatch();
      Fail(seg.status);
      return failure_;
    }
    ++current_;
    space_cv_.notify_all();
  }
  if (cancel_.load()) {
    lock.unlock();
    if (whole) std::free(out->data);
    *out = ExportBatch();
    Fail(Status::Aborted("JSON export was cancelled"));
    return failure_;
  }
  lock.unlock();
  if (!whole) {
    out->data = sink.Release(&out->size);
    if (out->size == 0) {
      std::free(out->data);
      out->data = nullptr;
    }
  }
  out->fallback_ends.clear();
  if (out->size != 0) {
    stats_.entries += out->entries;
    stats_.fallbacks += out->fallbacks;
    stats_.bytes += out->size;
    ++stats_.batches;
  }
  return Status::Ok();
}

}  // namespace pagevault
