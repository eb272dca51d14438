// snapshot_pages.cc: see snapshot_pages.h.

#include "snapshot_pages.h"

namespace pagevault {

uint64_t* PageSet::ChunkFor(uint64_t pgno) {
  Chunk& chunk = chunks_[pgno / kChunkPages];
  if (!chunk) chunk.reset(new uint64_t[kChunkWords]());  // value-initialised: all bits clear
  return chunk.get();
}

const uint64_t* PageSet::FindChunk(uint64_t pgno) const {
  auto it = chunks_.find(pgno / kChunkPages);
  return it == chunks_.end() ? nullptr : it->second.get();
}

bool PageSet::Contains(uint64_t pgno) const {
  const uint64_t* bits = FindChunk(pgno);
  const uint64_t bit = pgno % kChunkPages;
  return bits != nullptr && (bits[bit / 64] >> (bit % 64) & 1) != 0;
}

bool PageSet::Insert(uint64_t first, uint64_t count) {
  // Check the whole range before setting anything, so a refused insert leaves the set unchanged.
  for (uint64_t pgno = first; pgno < first + count; ++pgno) {
    if (Contains(pgno)) return false;
  }
  for (uint64_t pgno = first; pgno < first + count; ++pgno) {
    uint64_t* bits = ChunkFor(pgno);
    const uint64_t bit = pgno % kChunkPages;
    bits[bit / 64] |= uint64_t{1} << (bit % 64);
  }
  size_ += count;
  return true;
}

std::vector<PageRun> PageSet::Runs() const {
  std::vector<PageRun> runs;
  for (const auto& entry : chunks_) {
    const uint64_t base = entry.first * kChunkPages;
    const uint64_t* bits = entry.second.get();
    for (uint64_t word = 0; word < kChunkWords; ++word) {
      uint64_t value = bits[word];
      while (value != 0) {
        const uint64_t pgno = base + word * 64 + static_cast<uint64_t>(__builtin_ctzll(value));
        value &= value - 1;
        if (!runs.empty() && runs.back().first + runs.back().count == pgno) {
          ++runs.back().count;
        } else {
          runs.push_back(PageRun{pgno, 1});
        }
      }
    }
  }
  return runs;
}

}  // namespace pagevault
