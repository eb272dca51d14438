// export_cursor.cc: the resumable tree walk and the NDJSON writer of the JSON export (contract in export_cursor.h;
// layouts in format.h).

#include "export_cursor.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <utility>

#include "lz4_block.h"
#include "main_tree.h"
#include "text.h"

namespace pagevault {

namespace {

constexpr uint16_t kKnownNodeFlags = kNodeBigData | kNodeSubData | kNodeDupData;
// The first batch reserves at most this much up front; larger batches grow as they fill.
constexpr size_t kMaxInitialReserve = size_t{64} << 20;
// The largest plain value a compression store's header may announce (lmdb-js values are far smaller in practice).
constexpr size_t kMaxDecompressedValue = size_t{1} << 30;

uint64_t BranchChild(const uint8_t* node) {
  return static_cast<uint64_t>(LoadU16(node)) | (static_cast<uint64_t>(LoadU16(node + 2)) << 16) |
         (static_cast<uint64_t>(LoadU16(node + 4)) << 32);
}

#define PV_LIT(sink, text) (sink)->Append((text), sizeof(text) - 1)

void WriteTagged(const char* open, size_t open_size, const uint8_t* bytes, size_t size, ByteSink* sink) {
  sink->Append(open, open_size);
  AppendBase64(bytes, size, sink);
  PV_LIT(sink, "\"}");
}

#define PV_TAGGED(open, bytes, size, sink) WriteTagged((open), sizeof(open) - 1, (bytes), (size), (sink))

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// TreeCursor

TreeCursor::TreeCursor(const PageReader& reader, const Meta& meta, ExportStats* stats)
    : reader_(reader), meta_(meta), format_(reader.format()), page_size_(reader.page_size()), stats_(stats) {}

void TreeCursor::Reset(const DbRecord& record, bool leaf2_allowed, std::string label, std::vector<uint64_t> roots,
                       uint32_t roots_level) {
  record_ = record;
  leaf2_allowed_ = leaf2_allowed;
  label_ = std::move(label);
  started_ = false;
  pages_read_ = 0;
  root_index_ = 0;
  if (roots.empty()) {
    roots_.assign(1, record.root);
    roots_level_ = 0;
    done_ = record.root == kInvalidPage;
  } else {
    roots_ = std::move(roots);
    roots_level_ = roots_level;
    done_ = roots_level >= record.depth;  // the planner never does this; an empty walk rather than a bad index
  }
  depth_ = done_ ? 0 : record.depth - roots_level_;
  // One buffer per level, kept (with their capacity) across resets.
  if (levels_.size() < depth_) levels_.resize(depth_);
}

Status TreeCursor::Load(uint32_t level, uint64_t pgno) {
  // The record's page counts bound the walk: a page reachable twice cannot make it read more than the tree has.
  if (pages_read_ >= record_.branch_pages + record_.leaf_pages) {
    return Status::CorruptEnv(StringPrintf("%s: the walk needs more than the %" PRIu64 " pages its record has",
                                           label_.c_str(), record_.branch_pages + record_.leaf_pages));
  }
  ++pages_read_;
  ++stats_->pages_read;
  Level& l = levels_[level];
  Status status = reader_.ReadPage(pgno, meta_, &l.page);
  if (!status.ok()) return status.AddContext(label_);
  const uint8_t* bytes = l.page.data();
  const uint16_t flags = LoadU16(bytes + PageFlagsOffset(format_));
  const bool want_leaf = level + 1 == depth_;
  bool kind_ok;
  if (want_leaf) {
    kind_ok = (flags & kPageLeaf) != 0 && (flags & (kPageBranch | kPageOverflow | kPageMeta | kPageSubPage)) == 0 &&
              ((flags & kPageLeaf2) == 0 || leaf2_allowed_);
  } else {
    kind_ok = (flags & kPageBranch) != 0 &&
              (flags & (kPageLeaf | kPageOverflow | kPageMeta | kPageLeaf2 | kPageSubPage)) == 0;
  }
  if (!kind_ok) {
    return Status::CorruptEnv(StringPrintf("%s: page %" PRIu64 " at level %u of %u has flags 0x%x, expected a %s page",
                                           label_.c_str(), pgno, roots_level_ + level + 1, record_.depth, flags,
                                           want_leaf ? "leaf" : "branch"));
  }
  l.pgno = pgno;
  l.index = 0;
  l.leaf2 = (flags & kPageLeaf2) != 0;
  if (l.leaf2) {
    // LEAF2: keys of mp_pad bytes packed after the header; mp_lower still counts 2 bytes per entry.
    const size_t lower = LoadU16(bytes + PageLowerOffset(format_));
    const size_t slots_start = format_.header_size - format_.page_base;
    l.leaf2_size = LoadU16(bytes + PageFlagsOffset(format_) - 2);
    if (lower < slots_start) {
      return Status::CorruptEnv(StringPrintf("%s: LEAF2 page %" PRIu64 " has lower=%zu", label_.c_str(), pgno, lower));
    }
    l.count = (lower - slots_start) / 2;
    if (l.leaf2_size == 0 || format_.header_size + l.count * l.leaf2_size > page_size_) {
      return Status::CorruptEnv(StringPrintf("%s: LEAF2 page %" PRIu64 " holds %zu keys of %zu bytes",
                                             label_.c_str(), pgno, l.count, l.leaf2_size));
    }
    return Status::Ok();
  }
  status = PageNodeOffsets(format_, pgno, bytes, page_size_, &l.offsets);
  if (!status.ok()) return status.AddContext(label_);
  l.count = l.offsets.size();
  for (size_t node : l.offsets) {
    if (node + kNodeHeaderSize + LoadU16(bytes + node + 6) > page_size_) {
      return Status::CorruptEnv(StringPrintf("%s: page %" PRIu64 " has a key running past the page", label_.c_str(),
                                             pgno));
    }
  }
  if (!want_leaf) {
    if (l.count == 0) {
      return Status::CorruptEnv(StringPrintf("%s: branch page %" PRIu64 " has no children", label_.c_str(), pgno));
    }
    if (level + 2 == depth_) {
      // The parent of leaves: start reading all of its leaves now (coalesced into runs), so that the reads that
      // follow find them cached (on a cold cache the export then waits once per branch page, not once per leaf).
      std::vector<std::pair<uint64_t, uint64_t>> runs;
      for (size_t node : l.offsets) {
        const uint64_t child = BranchChild(bytes + node);
        if (!runs.empty() && runs.back().first + runs.back().second == child) {
          ++runs.back().second;
        } else {
          runs.emplace_back(child, 1);
        }
      }
      reader_.Prefetch(runs);
    }
  }
  return Status::Ok();
}

Status TreeCursor::DescendFrom(uint32_t level) {
  // levels_[level] is loaded with its index set; load the leftmost path below its current child.
  for (uint32_t k = level; k + 1 < depth_; ++k) {
    const Level& l = levels_[k];
    Status status = Load(k + 1, BranchChild(l.page.data() + l.offsets[l.index]));
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status TreeCursor::StartSubtree() {
  if (root_index_ == 0 && depth_ == 1 && roots_.size() > 1) {
    // A range of leaves: start reading all of them now, as Load does for the leaves under a branch page.
    std::vector<std::pair<uint64_t, uint64_t>> runs;
    for (uint64_t leaf : roots_) {
      if (!runs.empty() && runs.back().first + runs.back().second == leaf) {
        ++runs.back().second;
      } else {
        runs.emplace_back(leaf, 1);
      }
    }
    reader_.Prefetch(runs);
  }
  Status status = Load(0, roots_[root_index_]);
  if (!status.ok()) return status;
  return DescendFrom(0);
}

Status TreeCursor::Next(Item* item, bool* end) {
  *end = false;
  if (done_) {
    *end = true;
    return Status::Ok();
  }
  if (!started_) {
    started_ = true;
    Status status = StartSubtree();
    if (!status.ok()) return status;
  }
  const uint32_t leaf_level = depth_ - 1;
  for (;;) {
    Level& leaf = levels_[leaf_level];
    if (leaf.index < leaf.count) {
      const size_t i = leaf.index++;
      item->page = leaf.page.data();
      item->pgno = leaf.pgno;
      item->leaf2 = leaf.leaf2;
      if (leaf.leaf2) {
        item->node = 0;
        item->key = leaf.page.data() + format_.header_size + i * leaf.leaf2_size;
        item->key_size = leaf.leaf2_size;
      } else {
        item->node = leaf.offsets[i];
        item->key = leaf.page.data() + item->node + kNodeHeaderSize;
        item->key_size = LoadU16(leaf.page.data() + item->node + 6);
      }
      return Status::Ok();
    }
    // Leaf exhausted: climb to the nearest branch with a next child, step to it and descend to its leftmost leaf;
    // past the last child of the subtree's root, go on with the next subtree of the walk.
    int32_t level = static_cast<int32_t>(leaf_level) - 1;
    while (level >= 0 && levels_[level].index + 1 >= levels_[level].count) --level;
    if (level < 0) {
      if (++root_index_ >= roots_.size()) {
        done_ = true;
        *end = true;
        return Status::Ok();
      }
      Status status = StartSubtree();
      if (!status.ok()) return status;
      continue;
    }
    ++levels_[level].index;
    Status status = DescendFrom(static_cast<uint32_t>(level));
    if (!status.ok()) return status;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// ExportCursor

Status ResolveExportDbs(const PageReader& reader, ExportSetup* setup) {
  const Meta& meta = setup->plan.meta;
  std::vector<NamedDb> named;
  bool listed = false;
  setup->records.clear();
  for (const ExportDbSpec& spec : setup->dbs) {
    if (spec.root) {
      setup->records.push_back(meta.main_db);
      continue;
    }
    if (!listed) {
      MainTreeWalker walker(reader, meta);
      Status status = walker.ListNamedDatabases(&named);
      if (!status.ok()) return status;
      listed = true;
    }
    const NamedDb* found = nullptr;
    for (const NamedDb& db : named) {
      if (db.name == spec.name) found = &db;
    }
    if (found == nullptr) {
      return Status::NotFound(StringPrintf("database '%s' does not exist in the snapshot at txn %" PRIu64,
                                           spec.name.c_str(), setup->plan.txnid));
    }
    const std::string problem = DbRecordProblem(found->record, meta.last_page);
    if (!problem.empty()) return Status::CorruptEnv("database '" + spec.name + "': record: " + problem);
    setup->records.push_back(found->record);
  }
  setup->resolved = true;
  return Status::Ok();
}

Status PlanExportRanges(const PageReader& reader, const ExportSetup& setup, size_t db, uint64_t target_leaves,
                        size_t max_ranges, std::vector<ExportRange>* out, uint64_t* pages_read) {
  const DbRecord& record = setup.records[db];
  const ExportDbSpec& spec = setup.dbs[db];
  const PageFormat& format = reader.format();
  const size_t page_size = reader.page_size();
  target_leaves = std::max<uint64_t>(target_leaves, 1);
  const uint64_t want = std::min<uint64_t>(record.leaf_pages / target_leaves, std::max<size_t>(max_ranges, 1));
  if (record.root == kInvalidPage || record.depth < 2 || want < 2) {
    ExportRange whole;
    whole.db = db;
    out->push_back(std::move(whole));
    return Status::Ok();
  }
  const std::string label = spec.root ? "root store" : "database '" + spec.name + "'";
  // Expand level by level (branch pages only: the last expansion lists leaves without reading them) until there
  // are at least `want` subtrees. Fewer than `want` pages are read per level, and the record bounds the total.
  std::vector<uint64_t> nodes{record.root};
  std::vector<uint64_t> next;
  std::vector<uint8_t> page;
  std::vector<size_t> offsets;
  uint32_t level = 0;
  uint64_t budget = record.branch_pages;
  while (nodes.size() < want && level + 1 < record.depth) {
    next.clear();
    for (uint64_t pgno : nodes) {
      if (budget == 0) {
        return Status::CorruptEnv(StringPrintf("%s: its branch levels hold more than the %" PRIu64
                                               " branch pages its record has", label.c_str(), record.branch_pages));
      }
      --budget;
      ++*pages_read;
      Status status = reader.ReadPage(pgno, setup.plan.meta, &page);
      if (!status.ok()) return status.AddContext(label);
      const uint16_t flags = LoadU16(page.data() + PageFlagsOffset(format));
      if ((flags & kPageBranch) == 0 ||
          (flags & (kPageLeaf | kPageOverflow | kPageMeta | kPageLeaf2 | kPageSubPage)) != 0) {
        return Status::CorruptEnv(StringPrintf("%s: page %" PRIu64 " at level %u of %u has flags 0x%x, expected a "
                                               "branch page", label.c_str(), pgno, level + 1, record.depth, flags));
      }
      status = PageNodeOffsets(format, pgno, page.data(), page_size, &offsets);
      if (!status.ok()) return status.AddContext(label);
      if (offsets.empty()) {
        return Status::CorruptEnv(StringPrintf("%s: branch page %" PRIu64 " has no children", label.c_str(), pgno));
      }
      for (size_t node : offsets) next.push_back(BranchChild(page.data() + node));
    }
    nodes.swap(next);
    ++level;
  }
  const size_t count = static_cast<size_t>(std::min<uint64_t>(want, nodes.size()));
  for (size_t i = 0; i < count; ++i) {
    ExportRange range;
    range.db = db;
    range.level = level;
    range.roots.assign(nodes.begin() + static_cast<ptrdiff_t>(i * nodes.size() / count),
                       nodes.begin() + static_cast<ptrdiff_t>((i + 1) * nodes.size() / count));
    out->push_back(std::move(range));
  }
  return Status::Ok();
}

ExportCursor::ExportCursor(SnapshotPlan plan, std::vector<ExportDbSpec> dbs)
    : own_setup_(std::make_shared<ExportSetup>()) {
  own_setup_->plan = std::move(plan);
  own_setup_->dbs = std::move(dbs);
  setup_ = own_setup_;
  end_db_ = setup_->dbs.size();
}

ExportCursor::ExportCursor(std::shared_ptr<const ExportSetup> setup, const std::atomic<bool>* cancel)
    : setup_(std::move(setup)), cancel_(cancel) {}

Status ExportCursor::Start() {
  const SnapshotPlan& plan = setup_->plan;
  Status status = PageReader::Open(plan.data_path, &reader_);
  if (!status.ok()) return status;
  status = reader_->AdoptFormat(plan.format, plan.page_size);
  if (!status.ok()) return status;
  if (!setup_->resolved) {
    status = ResolveExportDbs(*reader_, own_setup_.get());
    if (!status.ok()) return status;
  }
  main_ = std::make_unique<TreeCursor>(*reader_, plan.meta, &stats_);
  dups_ = std::make_unique<TreeCursor>(*reader_, plan.meta, &stats_);
  return Status::Ok();
}

void ExportCursor::SetRange(const ExportRange& range) {
  range_ = &range;
  db_index_ = range.db;
  end_db_ = range.db + 1;
  db_entered_ = false;
  in_dups_ = false;
}

Status ExportCursor::EnterDb() {
  const ExportDbSpec& spec = dbs()[db_index_];
  std::string label = spec.root ? "root store" : "database '" + spec.name + "'";
  if (range_ != nullptr && !range_->roots.empty()) {
    main_->Reset(setup_->records[db_index_], false, std::move(label), range_->roots, range_->level);
  } else {
    main_->Reset(setup_->records[db_index_], false, std::move(label));
  }
  in_dups_ = false;
  if (!transcoder_.SetSharedStructures(spec.structures)) {
    return Status::CorruptEnv(main_->label() + ": its shared structures cannot be used (too many or bad keys)");
  }
  db_entered_ = true;
  return Status::Ok();
}

Status ExportCursor::NextBatch(uint64_t max_bytes, ExportBatch* out) {
  *out = ExportBatch();
  if (!failure_.ok()) return failure_;
  if (!started_) {
    started_ = true;
    failure_ = Start();
    if (!failure_.ok()) return failure_;
  }
  ByteSink sink;
  if (spare_.capacity() != 0) {
    size_t unused;
    const size_t capacity = spare_.capacity();
    sink.Adopt(spare_.Release(&unused), capacity);
  }
  sink.Reserve(static_cast<size_t>(std::min<uint64_t>(max_bytes, kMaxInitialReserve)) + 4096);
  Status status = Fill(max_bytes, &sink, out);
  if (!status.ok()) {
    failure_ = status;
    *out = ExportBatch();
    return failure_;
  }
  out->capacity = sink.capacity();
  out->data = sink.Release(&out->size);
  if (out->size == 0) {
    std::free(out->data);
    out->data = nullptr;
    out->capacity = 0;
  } else {
    stats_.bytes += out->size;
    ++stats_.batches;
  }
  return Status::Ok();
}

Status ExportCursor::Fill(uint64_t max_bytes, ByteSink* sink, ExportBatch* batch) {
  TreeCursor::Item item;
  while (db_index_ < end_db_ && sink->size() < max_bytes) {
    if (cancel_->load(std::memory_order_relaxed)) return Status::Aborted("JSON export was cancelled");
    if (!db_entered_) {
      Status status = EnterDb();
      if (!status.ok()) return status;
    }
    bool end = false;
    if (in_dups_) {
      Status status = dups_->Next(&item, &end);
      if (!status.ok()) return status;
      if (end) {
        in_dups_ = false;
        continue;
      }
      if (!item.leaf2 && (LoadU16(item.page + item.node + 4) != 0 ||
                          (LoadU16(item.page + item.node) | LoadU16(item.page + item.node + 2)) != 0)) {
        return Status::CorruptEnv(StringPrintf("%s: duplicate on page %" PRIu64 " has flags or data",
                                               dups_->label().c_str(), item.pgno));
      }
      WriteLine(reinterpret_cast<const uint8_t*>(dup_key_.data()), dup_key_.size(), item.key, item.key_size, sink,
                batch);
      continue;
    }
    Status status = main_->Next(&item, &end);
    if (!status.ok()) return status;
    if (end) {
      ++db_index_;
      db_entered_ = false;
      continue;
    }
    status = LeafEntry(item, sink, batch);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status ExportCursor::LeafEntry(const TreeCursor::Item& item, ByteSink* sink, ExportBatch* batch) {
  const ExportDbSpec& spec = dbs()[db_index_];
  const DbRecord& record = setup_->records[db_index_];
  const std::string& label = main_->label();
  if (item.leaf2) return Status::CorruptEnv(label + ": LEAF2 page in a main tree");
  const uint8_t* node = item.page + item.node;
  const uint64_t data_size = static_cast<uint64_t>(LoadU16(node)) | (static_cast<uint64_t>(LoadU16(node + 2)) << 16);
  const uint16_t flags = LoadU16(node + 4);
  const size_t page_size = reader_->page_size();
  const uint64_t in_page = (flags & kNodeBigData) != 0 ? reader_->format().big_data_ref_size : data_size;
  const uint64_t data_start = item.node + kNodeHeaderSize + item.key_size;
  if (data_start + in_page > page_size) {
    return Status::CorruptEnv(StringPrintf("%s: leaf page %" PRIu64 " has a node at offset %zu running past the page",
                                           label.c_str(), item.pgno, item.node));
  }
  const uint8_t* data = item.page + data_start;
  const bool dupsort = (record.flags & kDbDupSort) != 0;
  bool allowed;
  switch (flags) {
    case 0:
    case kNodeBigData:
      allowed = true;
      break;
    case kNodeSubData:
      allowed = spec.root;
      break;
    case kNodeDupData:
    case kNodeDupData | kNodeSubData:
      allowed = dupsort;
      break;
    default:
      allowed = false;
  }
  if (!allowed || (flags & ~kKnownNodeFlags) != 0) {
    return Status::CorruptEnv(StringPrintf("%s: leaf page %" PRIu64 " has a node with flags 0x%x", label.c_str(),
                                           item.pgno, flags));
  }
  if (flags == kNodeSubData) return Status::Ok();  // a named database's record in the root store: not an entry
  if (flags == kNodeBigData) {
    const uint8_t* value = nullptr;
    Status status = ReadOverflow(item, data, data_size, &value);
    if (!status.ok()) return status;
    WriteLine(item.key, item.key_size, value, static_cast<size_t>(data_size), sink, batch);
    return Status::Ok();
  }
  if (flags == kNodeDupData) return DupSubPage(item, data, static_cast<size_t>(data_size), sink, batch);
  if (flags == (kNodeDupData | kNodeSubData)) {
    if (data_size != kDbRecordSize) {
      return Status::CorruptEnv(StringPrintf("%s: duplicates record on page %" PRIu64 " has %" PRIu64 " bytes",
                                             label.c_str(), item.pgno, data_size));
    }
    const DbRecord sub = DecodeDbRecord(data);
    const std::string problem = DbRecordProblem(sub, setup_->plan.meta.last_page);
    if (!problem.empty()) return Status::CorruptEnv(label + ": duplicates sub-database record: " + problem);
    dup_key_.assign(reinterpret_cast<const char*>(item.key), item.key_size);
    dups_->Reset(sub, (record.flags & kDbDupFixed) != 0, label + " (duplicates sub-database)");
    in_dups_ = true;
    return Status::Ok();
  }
  WriteLine(item.key, item.key_size, data, static_cast<size_t>(data_size), sink, batch);
  return Status::Ok();
}

Status ExportCursor::DupSubPage(const TreeCursor::Item& item, const uint8_t* data, size_t size, ByteSink* sink,
                                ExportBatch* batch) {
  const PageFormat& format = reader_->format();
  const std::string& label = main_->label();
  if (size < format.header_size || (LoadU16(data + PageFlagsOffset(format)) & kPageSubPage) == 0) {
    return Status::CorruptEnv(StringPrintf("%s: malformed sub-page on page %" PRIu64, label.c_str(), item.pgno));
  }
  if ((LoadU16(data + PageFlagsOffset(format)) & kPageLeaf2) != 0) {
    const size_t lower = LoadU16(data + PageLowerOffset(format));
    const size_t slots_start = format.header_size - format.page_base;
    const size_t key_size = LoadU16(data + PageFlagsOffset(format) - 2);
    const size_t count = lower >= slots_start ? (lower - slots_start) / 2 : 0;
    if (lower < slots_start || key_size == 0 || format.header_size + count * key_size > size) {
      return Status::CorruptEnv(StringPrintf("%s: malformed LEAF2 sub-page on page %" PRIu64, label.c_str(),
                                             item.pgno));
    }
    for (size_t i = 0; i < count; ++i) {
      WriteLine(item.key, item.key_size, data + format.header_size + i * key_size, key_size, sink, batch);
    }
    return Status::Ok();
  }
  Status status = PageNodeOffsets(format, item.pgno, data, size, &sub_offsets_);
  if (!status.ok()) return status.AddContext(label + " (sub-page)");
  for (size_t node : sub_offsets_) {
    const size_t key_size = LoadU16(data + node + 6);
    if (node + kNodeHeaderSize + key_size > size) {
      return Status::CorruptEnv(StringPrintf("%s: sub-page on page %" PRIu64 " has a value running past it",
                                             label.c_str(), item.pgno));
    }
    WriteLine(item.key, item.key_size, data + node + kNodeHeaderSize, key_size, sink, batch);
  }
  return Status::Ok();
}

Status ExportCursor::ReadOverflow(const TreeCursor::Item& item, const uint8_t* ref, uint64_t data_size,
                                  const uint8_t** value) {
  const PageFormat& format = reader_->format();
  const Meta& meta = setup_->plan.meta;
  const size_t page_size = reader_->page_size();
  const std::string& label = main_->label();
  const uint64_t first = LoadU64(ref);
  // OVPAGES: the pages a value of this size needs (the run may be longer; only these are read).
  const uint64_t needed = (format.header_size - 1 + data_size) / page_size + 1;
  if (first < 2 || first > meta.last_page || needed > meta.last_page - first + 1) {
    return Status::CorruptEnv(StringPrintf("%s: big value on page %" PRIu64 " refers to pages %" PRIu64 "+%" PRIu64
                                           " outside 2..%" PRIu64, label.c_str(), item.pgno, first, needed,
                                           meta.last_page));
  }
  const size_t bytes = static_cast<size_t>(needed * page_size);
  if (overflow_.size() < bytes) overflow_.resize(bytes);
  Status status = reader_->ReadPages(first, needed, meta, overflow_.data());
  if (!status.ok()) return status.AddContext(label);
  stats_.pages_read += needed;
  const uint8_t* head = overflow_.data();
  const uint16_t flags = LoadU16(head + PageFlagsOffset(format));
  const uint32_t run = LoadU32(head + OverflowPagesOffset(format));
  if (LoadU64(head) != first || (flags & kPageOverflow) == 0 || run < needed) {
    return Status::CorruptEnv(StringPrintf("%s: page %" PRIu64 " should start an overflow run of %" PRIu64
                                           " pages; it has page number %" PRIu64 ", flags 0x%x and %u pages",
                                           label.c_str(), first, needed, LoadU64(head), flags, run));
  }
  if (format.has_page_txnid && LoadU64(head + 8) > meta.txnid) {
    Status newer = Status::CorruptEnv(StringPrintf("%s: overflow page %" PRIu64 " was written by txn %" PRIu64
                                                   ", newer than the snapshot's %" PRIu64, label.c_str(), first,
                                                   LoadU64(head + 8), meta.txnid));
    newer.MarkConcurrent();
    return newer;
  }
  *value = head + format.header_size;
  return Status::Ok();
}

void ExportCursor::WriteKey(const uint8_t* key, size_t key_size, ByteSink* sink) {
  const ExportKeyMode mode = dbs()[db_index_].key_mode;
  if (mode == ExportKeyMode::kString && key_size > 0) {
    const uint8_t* text = key;
    size_t text_size = key_size;
    bool plain = key[0] >= 28;
    if (key[0] == 27 && key_size >= 2 && key[1] < 28) {
      // ordered-binary escapes a first character below 28 with a 27; any other 27 prefix is not its output.
      ++text;
      --text_size;
      plain = true;
    }
    // Bytes 0-4 are ordered-binary's own: 0 separates array elements and 1-4 only appear escaped as `04 XX`
    // (writeKey, strings under 64 characters). A key holding any of them is carried as raw bytes, which
    // import writes back unchanged, rather than decoded here.
    if (plain) {
      for (size_t i = 0; i < text_size; ++i) {
        if (text[i] < 5) {
          plain = false;
          break;
        }
      }
    }
    if (plain) {
      const size_t mark = sink->size();
      if (AppendJsonString(text, text_size, sink)) return;
      sink->Truncate(mark);
    }
  } else if (mode == ExportKeyMode::kUint32 && key_size == 4) {
    AppendUint(LoadU32(key), sink);
    return;
  }
  PV_TAGGED("{\"$pv\":\"key\",\"v\":\"", key, key_size, sink);
}

bool ExportCursor::WriteValue(const uint8_t* value, size_t value_size, ByteSink* sink) {
  const ExportDbSpec& spec = dbs()[db_index_];
  if (spec.compression_dictionary) {
    const std::vector<uint8_t>& dict = *spec.compression_dictionary;
    if (!LmdbJsDecompress(&value, &value_size, dict.data(), dict.size(), kMaxDecompressedValue, &decompressed_)) {
      // Not decodable with this dictionary: carry the stored bytes, which restore exactly.
      PV_TAGGED("{\"$pv\":\"raw\",\"v\":\"", value, value_size, sink);
      return false;
    }
  }
  switch (spec.value_mode) {
    case ExportValueMode::kMsgpack:
      if (transcoder_.Transcode(value, value_size, spec.maps_as_objects, sink)) return true;
      PV_TAGGED("{\"$pv\":\"mp\",\"v\":\"", value, value_size, sink);
      return false;
    case ExportValueMode::kString: {
      const size_t mark = sink->size();
      if (AppendJsonString(value, value_size, sink)) return true;
      sink->Truncate(mark);
      PV_TAGGED("{\"$pv\":\"raw\",\"v\":\"", value, value_size, sink);
      return false;
    }
    case ExportValueMode::kBinary:
      PV_TAGGED("{\"$pv\":\"bin\",\"v\":\"", value, value_size, sink);
      return true;
    case ExportValueMode::kRaw:
      PV_TAGGED("{\"$pv\":\"raw\",\"v\":\"", value, value_size, sink);
      return true;
  }
  return true;
}

void ExportCursor::WriteLine(const uint8_t* key, size_t key_size, const uint8_t* value, size_t value_size,
                             ByteSink* sink, ExportBatch* batch) {
  const ExportDbSpec& spec = dbs()[db_index_];
  sink->Append(spec.prefix.data(), spec.prefix.size());
  WriteKey(key, key_size, sink);
  PV_LIT(sink, ",\"v\":");
  bool fallback = false;
  if (spec.versions) {
    if (value_size < 8) {
      PV_TAGGED("{\"$pv\":\"raw\",\"v\":\"", value, value_size, sink);
      fallback = true;
    } else {
      fallback = !WriteValue(value + 8, value_size - 8, sink);
      double version;
      std::memcpy(&version, value, 8);  // lmdb-js stores it with memcpy: host (little-endian) order
      PV_LIT(sink, ",\"ver\":");
      if (std::isnan(version)) {
        PV_LIT(sink, "{\"$pv\":\"num\",\"v\":\"NaN\"}");
      } else if (std::isinf(version)) {
        if (version > 0) {
          PV_LIT(sink, "{\"$pv\":\"num\",\"v\":\"Infinity\"}");
        } else {
          PV_LIT(sink, "{\"$pv\":\"num\",\"v\":\"-Infinity\"}");
        }
      } else {
        AppendDouble(version, sink);
      }
    }
  } else {
    fallback = !WriteValue(value, value_size, sink);
  }
  PV_LIT(sink, "}\n");
  ++batch->entries;
  ++stats_.entries;
  if (fallback) {
    ++batch->fallbacks;
    ++stats_.fallbacks;
    if (record_fallback_ends_) batch->fallback_ends.push_back(sink->size());
  }
}

}  // namespace pagevault
