// snapshot_walk.cc: the snapshot page collector (contract in snapshot_walk.h; layouts in format.h).

#include "snapshot_walk.h"

#include <cinttypes>
#include <cstring>
#include <utility>

#include "text.h"

namespace pagevault {

namespace {

// Three nested trees of at most kMaxTreeDepth levels each, plus slack.
constexpr uint32_t kMaxRecursion = 3 * kMaxTreeDepth + 4;
constexpr uint16_t kKnownNodeFlags = kNodeBigData | kNodeSubData | kNodeDupData;

uint64_t BranchChild(const uint8_t* node) {
  return static_cast<uint64_t>(LoadU16(node)) | (static_cast<uint64_t>(LoadU16(node + 2)) << 16) |
         (static_cast<uint64_t>(LoadU16(node + 4)) << 32);
}

// PrintableName: a named database's name for messages: printable ASCII kept, anything else as \xNN, cut at 64 bytes.
std::string PrintableName(const uint8_t* bytes, size_t size) {
  std::string out;
  for (size_t i = 0; i < size && i < 64; ++i) {
    const uint8_t c = bytes[i];
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out.push_back(static_cast<char>(c));
    } else {
      out += StringPrintf("\\x%02x", c);
    }
  }
  if (size > 64) out += "...";
  return out;
}

}  // namespace

SnapshotWalker::SnapshotWalker(const PageReader& reader, const Meta& meta, uint64_t base_txnid,
                               const std::atomic<bool>& cancel, PageSet* pages)
    : reader_(reader),
      meta_(meta),
      format_(reader.format()),
      page_size_(reader.page_size()),
      base_txnid_(base_txnid),
      incremental_(base_txnid > 0),
      cancel_(cancel),
      pages_(pages),
      buffers_(kMaxRecursion) {}

Status SnapshotWalker::WalkAll() {
  Tree free_list{TreeKind::kFreeList, "free-list database", meta_.free_db};
  Status status = WalkTree(&free_list);
  if (!status.ok()) return status;
  Tree main{TreeKind::kMain, "main database", meta_.main_db};
  return WalkTree(&main);
}

Status SnapshotWalker::WalkTree(Tree* tree) {
  ++stats_.databases;
  const DbRecord& record = tree->record;
  if (record.root != kInvalidPage) {
    Status status = VisitPage(tree, record.root, 1);
    if (!status.ok()) return status;
  }
  if (incremental_) return Status::Ok();
  // A full walk saw the whole tree: its counts must be the record's. The free list's record is kept by the same
  // cursor code as every other, so it is held to the same check.
  if (tree->branch_pages != record.branch_pages || tree->leaf_pages != record.leaf_pages ||
      tree->overflow_pages != record.overflow_pages || tree->entries != record.entries) {
    return Status::CorruptEnv(StringPrintf(
        "%s has %" PRIu64 " branch, %" PRIu64 " leaf and %" PRIu64 " overflow pages and %" PRIu64
        " entries; its record says %" PRIu64 ", %" PRIu64 ", %" PRIu64 " and %" PRIu64,
        tree->label.c_str(), tree->branch_pages, tree->leaf_pages, tree->overflow_pages, tree->entries,
        record.branch_pages, record.leaf_pages, record.overflow_pages, record.entries));
  }
  return Status::Ok();
}

Status SnapshotWalker::CountVisit(const Tree& tree) {
  if (cancel_.load(std::memory_order_relaxed)) return Status::Aborted("snapshot page collection was cancelled");
  // Pages 2..last_pg can each be read at most once by a walk of a valid snapshot; more reads mean a page is
  // reachable twice (a cycle or shared subtree), which this bound stops before it can grow exponentially.
  if (stats_.pages_visited >= meta_.last_page - 1) {
    return Status::CorruptEnv(StringPrintf("%s: the walk needed more than the %" PRIu64
                                           " data pages the snapshot has (a page is reachable twice)",
                                           tree.label.c_str(), meta_.last_page - 1));
  }
  ++stats_.pages_visited;
  return Status::Ok();
}

Status SnapshotWalker::VisitPage(Tree* tree, uint64_t pgno, uint32_t level) {
  Status status = CountVisit(*tree);
  if (!status.ok()) return status;
  const DbRecord& record = tree->record;
  if (!incremental_ && tree->branch_pages + tree->leaf_pages >= record.branch_pages + record.leaf_pages) {
    return Status::CorruptEnv(StringPrintf("%s has more pages than its record's %" PRIu64, tree->label.c_str(),
                                           record.branch_pages + record.leaf_pages));
  }
  if (depth_ >= buffers_.size()) {
    return Status::CorruptEnv(tree->label + ": databases nested deeper than LMDB allows");
  }
  // Incremental: the header alone tells whether the subtree changed; most pages probed are unchanged children of a
  // changed branch, so read the whole page only when it is needed.
  uint8_t header[32];
  std::vector<uint8_t>& page = buffers_[depth_];
  if (incremental_) {
    status = reader_.ReadPageHeader(pgno, meta_, header);
  } else {
    status = reader_.ReadPage(pgno, meta_, &page);
  }
  if (!status.ok()) return status.AddContext(tree->label);
  const uint8_t* head = incremental_ ? header : page.data();

  const uint16_t flags = LoadU16(head + PageFlagsOffset(format_));
  const bool want_leaf = level == record.depth;
  const bool leaf2_allowed = tree->kind == TreeKind::kDupSub && (record.flags & kDbDupFixed) != 0;
  bool kind_ok;
  if (want_leaf) {
    kind_ok = (flags & kPageLeaf) != 0 && (flags & (kPageBranch | kPageOverflow | kPageMeta | kPageSubPage)) == 0 &&
              ((flags & kPageLeaf2) == 0 || leaf2_allowed);
  } else {
    kind_ok = (flags & kPageBranch) != 0 &&
              (flags & (kPageLeaf | kPageOverflow | kPageMeta | kPageLeaf2 | kPageSubPage)) == 0;
  }
  if (!kind_ok) {
    return Status::CorruptEnv(StringPrintf("%s: page %" PRIu64 " at level %u of %u has flags 0x%x, expected a %s page",
                                           tree->label.c_str(), pgno, level, record.depth, flags,
                                           want_leaf ? "leaf" : "branch"));
  }
  if (incremental_) {
    if (LoadU64(header + 8) <= base_txnid_) {
      ++stats_.subtrees_pruned;  // unchanged since the base, and so is everything below it
      ++stats_.header_probes;
      return Status::Ok();
    }
    status = reader_.ReadPage(pgno, meta_, &page);
    if (!status.ok()) return status.AddContext(tree->label);
    if (std::memcmp(page.data(), header, format_.header_size) != 0) {
      return Status::CorruptEnv(StringPrintf("%s: page %" PRIu64 " changed between two reads (is the snapshot "
                                             "still pinned?)", tree->label.c_str(), pgno));
    }
  }
  if (!pages_->Insert(pgno)) {
    return Status::CorruptEnv(StringPrintf("%s: page %" PRIu64 " is reachable twice", tree->label.c_str(), pgno));
  }
  ++depth_;
  status = want_leaf ? VisitLeaf(tree, pgno, page) : VisitBranch(tree, pgno, level, page);
  --depth_;
  return status;
}


Status SnapshotWalker::VisitBranch(Tree* tree, uint64_t pgno, uint32_t level, const std::vector<uint8_t>& page) {
  ++tree->branch_pages;
  std::vector<size_t> offsets;
  Status status = PageNodeOffsets(format_, pgno, page.data(), page_size_, &offsets);
  if (!status.ok()) return status.AddContext(tree->label);
  if (offsets.empty()) {
    return Status::CorruptEnv(StringPrintf("%s: branch page %" PRIu64 " has no children", tree->label.c_str(), pgno));
  }
  // Start reading all children at once (coalesced into ranges): on a cold cache the walk then waits for one batch
  // of parallel reads per branch page instead of one read per child.
  std::vector<std::pair<uint64_t, uint64_t>> prefetch;
  for (size_t node : offsets) {
    const uint8_t* bytes = page.data() + node;
    if (node + kNodeHeaderSize + LoadU16(bytes + 6) > page_size_) {
      return Status::CorruptEnv(StringPrintf("%s: branch page %" PRIu64 " has a key running past the page",
                                             tree->label.c_str(), pgno));
    }
    const uint64_t child = BranchChild(bytes);
    if (!prefetch.empty() && prefetch.back().first + prefetch.back().second == child) {
      ++prefetch.back().second;
    } else {
      prefetch.emplace_back(child, 1);
    }
  }
  reader_.Prefetch(prefetch);
  for (size_t node : offsets) {
    // `page` is this depth's buffer; deeper visits use their own, so it stays valid across the recursion.
    status = VisitPage(tree, BranchChild(page.data() + node), level + 1);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status SnapshotWalker::VisitLeaf(Tree* tree, uint64_t pgno, const std::vector<uint8_t>& page) {
  ++tree->leaf_pages;
  const uint8_t* bytes = page.data();
  if ((LoadU16(bytes + PageFlagsOffset(format_)) & kPageLeaf2) != 0) {
    // DUPFIXED sub-database leaf: keys of mp_pad bytes packed after the header, no nodes, nothing below.
    const size_t lower = LoadU16(bytes + PageLowerOffset(format_));
    const size_t slots_start = format_.header_size - format_.page_base;
    const size_t key_size = LoadU16(bytes + PageFlagsOffset(format_) - 2);
    if (lower < slots_start || (lower - slots_start) % 2 != 0 ||
        format_.header_size + (lower - slots_start) / 2 * key_size > page_size_) {
      return Status::CorruptEnv(StringPrintf("%s: LEAF2 page %" PRIu64 " has lower=%zu for %zu-byte keys",
                                             tree->label.c_str(), pgno, lower, key_size));
    }
    tree->entries += (lower - slots_start) / 2;
    return Status::Ok();
  }
  std::vector<size_t> offsets;
  Status status = PageNodeOffsets(format_, pgno, bytes, page_size_, &offsets);
  if (!status.ok()) return status.AddContext(tree->label);
  if (offsets.empty()) {
    return Status::CorruptEnv(StringPrintf("%s: leaf page %" PRIu64 " has no entries", tree->label.c_str(), pgno));
  }
  for (size_t node : offsets) {
    status = VisitNode(tree, pgno, page, node);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status SnapshotWalker::VisitNode(Tree* tree, uint64_t pgno, const std::vector<uint8_t>& page, size_t node) {
  const uint8_t* bytes = page.data() + node;
  const uint64_t data_size = static_cast<uint64_t>(LoadU16(bytes)) | (static_cast<uint64_t>(LoadU16(bytes + 2)) << 16);
  const uint16_t flags = LoadU16(bytes + 4);
  const size_t key_size = LoadU16(bytes + 6);
  const bool big = (flags & kNodeBigData) != 0;
  const uint64_t in_page = big ? format_.big_data_ref_size : data_size;
  const uint64_t data_start = node + kNodeHeaderSize + key_size;
  if (data_start + in_page > page_size_) {
    return Status::CorruptEnv(StringPrintf("%s: leaf page %" PRIu64 " has a node at offset %zu running past the page",
                                           tree->label.c_str(), pgno, node));
  }
  const uint8_t* data = page.data() + data_start;
  const bool dupsort = (tree->record.flags & kDbDupSort) != 0 && tree->kind != TreeKind::kFreeList &&
                       tree->kind != TreeKind::kDupSub;
  bool allowed;
  switch (flags) {
    case 0:
      allowed = true;
      break;
    case kNodeBigData:
      allowed = tree->kind != TreeKind::kDupSub;
      break;
    case kNodeSubData:
      allowed = tree->kind == TreeKind::kMain;
      break;
    case kNodeDupData:
    case kNodeDupData | kNodeSubData:
      allowed = dupsort;
      break;
    default:
      allowed = false;
  }
  if (!allowed || (flags & ~kKnownNodeFlags) != 0) {
    return Status::CorruptEnv(StringPrintf("%s: leaf page %" PRIu64 " has a node with flags 0x%x", tree->label.c_str(),
                                           pgno, flags));
  }

  if (flags == kNodeBigData) {
    ++tree->entries;
    return VisitOverflow(tree, pgno, data, data_size);
  }
  if ((flags & kNodeSubData) != 0) {
    if (data_size != kDbRecordSize) {
      return Status::CorruptEnv(StringPrintf("%s: database record on page %" PRIu64 " has %" PRIu64
                                             " bytes, expected %zu", tree->label.c_str(), pgno, data_size,
                                             kDbRecordSize));
    }
    if (flags == kNodeSubData) {
      ++tree->entries;
      size_t name_size = key_size;
      if (name_size > 0 && bytes[kNodeHeaderSize + name_size - 1] == 0) --name_size;  // strlen(name) + 1 on disk
      return VisitSubDatabase(tree, TreeKind::kNamed,
                              "named database '" + PrintableName(bytes + kNodeHeaderSize, name_size) + "'", data);
    }
    // Duplicates of one key in a sub-database; its entries count as the parent's (md_entries counts values).
    tree->entries += DecodeDbRecord(data).entries;
    return VisitSubDatabase(tree, TreeKind::kDupSub, tree->label + " (duplicates sub-database)", data);
  }
  if (flags == kNodeDupData) {
    // A sub-page inside the node: a page header and slots (or LEAF2 keys) relative to the sub-page. Only its entry
    // count matters here; it holds no page references.
    if (data_size < format_.header_size) {
      return Status::CorruptEnv(StringPrintf("%s: sub-page on page %" PRIu64 " has only %" PRIu64 " bytes",
                                             tree->label.c_str(), pgno, data_size));
    }
    const size_t lower = LoadU16(data + PageLowerOffset(format_));
    const size_t slots_start = format_.header_size - format_.page_base;
    if ((LoadU16(data + PageFlagsOffset(format_)) & kPageSubPage) == 0 || lower < slots_start ||
        format_.page_base + lower > data_size) {
      return Status::CorruptEnv(StringPrintf("%s: malformed sub-page on page %" PRIu64, tree->label.c_str(), pgno));
    }
    tree->entries += (lower - slots_start) / 2;
    return Status::Ok();
  }
  ++tree->entries;
  return Status::Ok();
}

Status SnapshotWalker::VisitSubDatabase(Tree* parent, TreeKind kind, std::string label,
                                        const uint8_t* record_bytes) {
  Tree sub{kind, std::move(label), DecodeDbRecord(record_bytes)};
  const std::string problem = DbRecordProblem(sub.record, meta_.last_page);
  if (!problem.empty()) {
    return Status::CorruptEnv(StringPrintf("%s: record in %s: %s", sub.label.c_str(), parent->label.c_str(),
                                           problem.c_str()));
  }
  return WalkTree(&sub);
}

Status SnapshotWalker::VisitOverflow(Tree* tree, uint64_t leaf_pgno, const uint8_t* ref, uint64_t data_size) {
  const uint64_t first = LoadU64(ref);
  // OVPAGES: the pages a value of this size needs. A run can be longer: LMDB overwrites a big value in place with a
  // smaller one when the run was written by the same transaction, and keeps the run's length ("we don't bother to
  // try shrinking", mdb_cursor_put). So the run's length is the reference's op_pages (v2) or the header's mp_pages.
  const uint64_t needed = (format_.header_size - 1 + data_size) / page_size_ + 1;
  const bool has_ref_txnid = format_.big_data_ref_size >= 24;
  const uint64_t ref_txnid = has_ref_txnid ? LoadU64(ref + 8) : 0;
  uint64_t pages = has_ref_txnid ? LoadU64(ref + 16) : needed;
  if (pages < needed) {
    return Status::CorruptEnv(StringPrintf("%s: big value on page %" PRIu64 " refers to %" PRIu64
                                           " overflow pages, its %" PRIu64 " bytes need %" PRIu64,
                                           tree->label.c_str(), leaf_pgno, pages, data_size, needed));
  }
  if (first < 2 || first > meta_.last_page || pages > meta_.last_page - first + 1) {
    return Status::CorruptEnv(StringPrintf("%s: big value on page %" PRIu64 " refers to pages %" PRIu64 "+%" PRIu64
                                           " outside 2..%" PRIu64, tree->label.c_str(), leaf_pgno, first, pages,
                                           meta_.last_page));
  }
  if (incremental_ && ref_txnid <= base_txnid_) {
    tree->overflow_pages += pages;
    ++stats_.overflow_runs_skipped;  // written at or before the base (see the header: op_txnid is the run's txnid)
    return Status::Ok();
  }
  Status status = CountVisit(*tree);
  if (!status.ok()) return status;
  uint8_t header[32];
  status = reader_.ReadPageHeader(first, meta_, header);
  if (!status.ok()) return status.AddContext(tree->label);
  ++stats_.header_probes;
  const uint16_t flags = LoadU16(header + PageFlagsOffset(format_));
  const uint32_t header_pages = LoadU32(header + OverflowPagesOffset(format_));
  if (!has_ref_txnid) {
    pages = header_pages;  // v1: the header is the only record of the run's length
    if (pages < needed || pages > meta_.last_page - first + 1) {
      return Status::CorruptEnv(StringPrintf("%s: overflow run at page %" PRIu64 " has %" PRIu64 " pages for a %" PRIu64
                                             "-byte value", tree->label.c_str(), first, pages, data_size));
    }
  }
  if ((flags & kPageOverflow) == 0 || header_pages != pages) {
    return Status::CorruptEnv(StringPrintf("%s: page %" PRIu64 " should start an overflow run of %" PRIu64
                                           " pages; it has flags 0x%x and %u pages", tree->label.c_str(), first,
                                           pages, flags, header_pages));
  }
  tree->overflow_pages += pages;
  if (format_.has_page_txnid) {
    const uint64_t txnid = LoadU64(header + 8);
    if (has_ref_txnid && txnid != ref_txnid) ++stats_.overflow_ref_mismatches;
    if (incremental_ && txnid <= base_txnid_) {
      ++stats_.subtrees_pruned;
      return Status::Ok();
    }
  }
  if (!pages_->Insert(first, pages)) {
    return Status::CorruptEnv(StringPrintf("%s: overflow run %" PRIu64 "+%" PRIu64 " overlaps pages reached before",
                                           tree->label.c_str(), first, pages));
  }
  return Status::Ok();
}

}  // namespace pagevault
