// main_tree.cc: the main-tree walk (contract in main_tree.h; layouts in format.h).

#include "main_tree.h"

#include <cinttypes>

#include "text.h"

namespace pagevault {

namespace {

constexpr uint16_t kPageKindMask = kPageBranch | kPageLeaf | kPageOverflow | kPageMeta | kPageLeaf2 | kPageSubPage;

}  // namespace

MainTreeWalker::MainTreeWalker(const PageReader& reader, const Meta& meta)
    : reader_(reader), meta_(meta), format_(reader.format()), page_size_(reader.page_size()) {}

Status MainTreeWalker::ListNamedDatabases(std::vector<NamedDb>* out) {
  const DbRecord& main = meta_.main_db;
  if (main.root == kInvalidPage) {
    if (main.entries != 0) {
      return Status::CorruptEnv(StringPrintf("main database is empty but claims %" PRIu64 " entries", main.entries));
    }
    return Status::Ok();
  }
  // The meta was validated (root in range, 1 <= depth <= kMaxTreeDepth); one page buffer per level.
  level_pages_.assign(main.depth, std::vector<uint8_t>());
  Status status = VisitPage(main.root, 1, out);
  if (!status.ok()) return status;
  if (branch_pages_seen_ != main.branch_pages || leaf_pages_seen_ != main.leaf_pages || entries_seen_ != main.entries) {
    return Status::CorruptEnv(StringPrintf(
        "main database tree has %" PRIu64 " branch pages, %" PRIu64 " leaf pages and %" PRIu64
        " entries; its record says %" PRIu64 ", %" PRIu64 " and %" PRIu64,
        branch_pages_seen_, leaf_pages_seen_, entries_seen_, main.branch_pages, main.leaf_pages, main.entries));
  }
  return Status::Ok();
}

Status MainTreeWalker::VisitPage(uint64_t pgno, uint32_t level, std::vector<NamedDb>* out) {
  const DbRecord& main = meta_.main_db;
  // The record's page counts bound the walk: a crafted file cannot make us read more pages than it claims.
  if (branch_pages_seen_ + leaf_pages_seen_ >= main.branch_pages + main.leaf_pages) {
    return Status::CorruptEnv(StringPrintf("main database tree has more pages than its record's %" PRIu64,
                                           main.branch_pages + main.leaf_pages));
  }
  std::vector<uint8_t>& page = level_pages_[level - 1];
  Status status = reader_.ReadPage(pgno, meta_, &page);
  if (!status.ok()) return status;

  const bool want_leaf = level == main.depth;
  const uint16_t kind = LoadU16(page.data() + format_.header_size - 6) & kPageKindMask;
  if (kind != (want_leaf ? kPageLeaf : kPageBranch)) {
    return Status::CorruptEnv(StringPrintf("page %" PRIu64 " at level %u of %u of the main tree has flags 0x%x, "
                                           "expected a %s page", pgno, level, main.depth, kind,
                                           want_leaf ? "leaf" : "branch"));
  }
  std::vector<size_t> offsets;
  status = PageNodeOffsets(format_, pgno, page.data(), page_size_, &offsets);
  if (!status.ok()) return status;
  if (offsets.empty()) return Status::CorruptEnv(StringPrintf("main tree page %" PRIu64 " has no nodes", pgno));

  if (want_leaf) {
    ++leaf_pages_seen_;
    for (size_t node : offsets) {
      status = VisitLeafNode(pgno, page, node, out);
      if (!status.ok()) return status;
    }
    return Status::Ok();
  }

  ++branch_pages_seen_;
  for (size_t node : offsets) {
    // `page` is this level's buffer; deeper levels use their own, so it stays valid across the recursion.
    const uint8_t* bytes = page.data() + node;
    const size_t key_size = LoadU16(bytes + 6);
    if (node + kNodeHeaderSize + key_size > page_size_) {
      return Status::CorruptEnv(StringPrintf("branch page %" PRIu64 " has a key running past the page", pgno));
    }
    const uint64_t child = static_cast<uint64_t>(LoadU16(bytes)) | (static_cast<uint64_t>(LoadU16(bytes + 2)) << 16) |
                           (static_cast<uint64_t>(LoadU16(bytes + 4)) << 32);
    status = VisitPage(child, level + 1, out);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status MainTreeWalker::VisitLeafNode(uint64_t pgno, const std::vector<uint8_t>& page, size_t node,
                                     std::vector<NamedDb>* out) {
  const uint8_t* bytes = page.data() + node;
  const uint64_t data_size = static_cast<uint64_t>(LoadU16(bytes)) | (static_cast<uint64_t>(LoadU16(bytes + 2)) << 16);
  const uint16_t flags = LoadU16(bytes + 4);
  const size_t key_size = LoadU16(bytes + 6);
  const uint64_t in_page = (flags & kNodeBigData) != 0 ? format_.big_data_ref_size : data_size;
  const uint64_t key_start = node + kNodeHeaderSize;
  const uint64_t data_start = key_start + key_size;
  if (data_start + in_page > page_size_) {
    return Status::CorruptEnv(StringPrintf("leaf page %" PRIu64 " has a node at offset %zu running past the page",
                                           pgno, node));
  }
  ++entries_seen_;
  if ((flags & kNodeSubData) == 0 || (flags & kNodeDupData) != 0) return Status::Ok();

  if ((flags & kNodeBigData) != 0 || data_size != kDbRecordSize) {
    return Status::CorruptEnv(StringPrintf("named database record on page %" PRIu64 " has %" PRIu64
                                           " bytes (flags 0x%x), expected %zu", pgno, data_size, flags,
                                           kDbRecordSize));
  }
  NamedDb named;
  size_t name_size = key_size;
  if (name_size > 0 && bytes[kNodeHeaderSize + name_size - 1] == 0) --name_size;  // LMDB stores strlen(name) + 1
  named.name.assign(reinterpret_cast<const char*>(bytes + kNodeHeaderSize), name_size);
  named.record = DecodeDbRecord(page.data() + data_start);
  const DbRecord& record = named.record;
  if (record.root != kInvalidPage && (record.root < 2 || record.root > meta_.last_page)) {
    return Status::CorruptEnv(StringPrintf("named database on page %" PRIu64 " has root page %" PRIu64
                                           " outside 2..%" PRIu64, pgno, record.root, meta_.last_page));
  }
  if (record.depth > kMaxTreeDepth || record.entries > kMaxSafeInteger || record.branch_pages > kMaxSafeInteger ||
      record.leaf_pages > kMaxSafeInteger || record.overflow_pages > kMaxSafeInteger) {
    return Status::CorruptEnv(StringPrintf("named database on page %" PRIu64 " has an implausible record", pgno));
  }
  out->push_back(std::move(named));
  return Status::Ok();
}

}  // namespace pagevault
