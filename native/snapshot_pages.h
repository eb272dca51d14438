// snapshot_pages.h: PageSet, the set of page numbers a snapshot ships, and PageRun, one run of consecutive pages.
//
// A sparse bitmap: chunks of kChunkPages pages, allocated on first use and kept in page order. Memory and the cost
// of listing runs grow with the number of chunks touched, not with the size of the file, so an incremental that
// touches a few regions of a 10 GB file stays small, and a full snapshot of it costs one bit per page (320 KiB).
//
// Threading: plain C++ state, used by one thread at a time (the worker that owns the snapshot).

#ifndef PAGEVAULT_NATIVE_SNAPSHOT_PAGES_H_
#define PAGEVAULT_NATIVE_SNAPSHOT_PAGES_H_

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace pagevault {

// PageRun: pages first .. first + count - 1.
struct PageRun {
  uint64_t first = 0;
  uint64_t count = 0;
};

// PageSet: a set of page numbers with duplicate detection.
class PageSet {
 public:
  // Insert: adds pages first .. first + count - 1 (count >= 1). Returns false, adding nothing, when any of them is
  // already in the set; a valid LMDB snapshot reaches every page at most once, so callers report that as corruption.
  bool Insert(uint64_t first, uint64_t count = 1);

  // Contains: whether `pgno` is in the set.
  bool Contains(uint64_t pgno) const;

  uint64_t size() const { return size_; }

  // Runs: the set as maximal runs of consecutive pages, in ascending order.
  std::vector<PageRun> Runs() const;

 private:
  static constexpr uint64_t kChunkPages = uint64_t{1} << 15;  // 32768 pages: a 4 KiB bitmap
  static constexpr uint64_t kChunkWords = kChunkPages / 64;
  using Chunk = std::unique_ptr<uint64_t[]>;

  uint64_t* ChunkFor(uint64_t pgno);
  const uint64_t* FindChunk(uint64_t pgno) const;

  std::map<uint64_t, Chunk> chunks_;  // chunk index -> bitmap
  uint64_t size_ = 0;
};

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_SNAPSHOT_PAGES_H_
