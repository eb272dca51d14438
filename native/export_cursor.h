// export_cursor.h: ExportCursor, the native side of JSON export: it walks the B-trees of one pinned snapshot
// (transaction T) in key order and writes each entry as one NDJSON line, in batches that resume exactly where the
// previous one stopped. TreeCursor is the resumable in-order walk of one tree it is built on.
//
// Line format (one per entry; dupSort: one per duplicate value, in order):
//   prefix KEY ,"v": VALUE [,"ver": VERSION] }\n
// KEY by key mode: kString: an ordered-binary (lmdb-js default) key holding a plain string: first byte >= 28, or 27
// followed by a byte < 28 (ordered-binary's escape of a first character below 28; the 27 is dropped), no 0 bytes,
// valid UTF-8 -> JSON string. kUint32: 4 bytes -> the little-endian integer. Anything else, and every kRaw key ->
// {"$pv":"key","v":"<base64 of the key bytes>"}.
// VALUE by value mode: kMsgpack: MsgpackJson (msgpack_json.h), falling back to {"$pv":"mp","v":"<base64>"};
// kString: UTF-8 -> JSON string, else the raw tag; kBinary: {"$pv":"bin","v":...}; kRaw: {"$pv":"raw","v":...}.
// With `versions` (lmdb-js useVersions) the value's first 8 bytes are a little-endian float64 version, written as
// ,"ver":<number> (NaN/Infinity tagged as in msgpack_json.h); a value shorter than 8 bytes is written as the raw tag
// without a version and counted as a fallback.
//
// What is walked: the databases of the plan in the order given. A named database is found by its exact name among
// the main tree's F_SUBDATA records (kNotFound when absent); the root store (`root`) is the main tree itself, whose
// F_SUBDATA nodes (named-database records) are skipped. Big values are read from their overflow runs; dupSort
// sub-pages and sub-databases (including DUPFIXED LEAF2 pages) are expanded. Every page comes through PageReader
// (page number 2..last_pg, header page number, v2 txnid <= T), its kind is checked against its level, every slot,
// node, key, sub-page and overflow reference is bounds-checked, and a tree may not read more pages than its record
// has: a malformed file gives kCorruptEnv naming the database, never an out-of-bounds read or an endless walk.
//
// Batches: NextBatch appends whole lines until the batch holds at least `max_bytes` (so a batch is never empty
// before the end, and exceeds max_bytes by at most one line or one dupSort sub-page of lines). Leaf pages are read
// with one pread each, into buffers reused for the life of the cursor; the leaves under a branch page are prefetched
// (posix_fadvise) when that branch page is read.
//
// Ranges: a cursor can also be bounded to one ExportRange (a contiguous run of subtrees of one database's main tree,
// planned by PlanExportRanges): it then returns that range's lines only, and NextBatch returns the end after its
// last entry. Ranges are cut between main-tree pages, so between distinct keys: a dupSort key's values (a sub-page
// or a sub-database under one main-tree node) are never split. export_parallel.h runs ranges on several threads.
//
// Threading: NextBatch runs on one thread at a time (the JS handle allows one outstanding call); the cancel flag
// may be set from any thread and makes the running call stop with kAborted at its next entry. After a failure
// every later call returns the same failure.

#ifndef PAGEVAULT_NATIVE_EXPORT_CURSOR_H_
#define PAGEVAULT_NATIVE_EXPORT_CURSOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "errors.h"
#include "format.h"
#include "json_out.h"
#include "msgpack_json.h"
#include "page_reader.h"
#include "snapshot_meta.h"

namespace pagevault {

enum class ExportKeyMode { kString, kUint32, kRaw };
enum class ExportValueMode { kMsgpack, kString, kBinary, kRaw };

// ExportDbSpec: one database to export and how to write its entries (see the top of this file).
struct ExportDbSpec {
  bool root = false;      // the root (main) store; `name` is unused
  std::string name;       // a named database's exact name (UTF-8)
  std::string prefix;     // bytes written before the key of every line
  ExportKeyMode key_mode = ExportKeyMode::kString;
  ExportValueMode value_mode = ExportValueMode::kMsgpack;
  bool versions = false;
  bool maps_as_objects = false;
  std::vector<MsgpackJson::SharedStructure> structures;  // msgpackr shared structures (record 0x40 + i)
  // lmdb-js `compression`: values starting with its LZ4 header are decompressed with this dictionary first
  // (lz4_block.h); null: the store is not compressed.
  std::shared_ptr<const std::vector<uint8_t>> compression_dictionary;
};

// ExportStats: counters of one export so far.
struct ExportStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
  uint64_t fallbacks = 0;
  uint64_t pages_read = 0;  // tree pages and overflow pages read
  uint64_t batches = 0;
};

// ExportBatch: one NextBatch result: `data` (malloc'd, the receiver frees it with free()) holds `size` bytes of whole
// lines. size 0 means the end. `fallback_ends` (only filled when the cursor was asked to, see RecordFallbackEnds):
// the offset just past each line that took a fallback, ascending, so that a consumer splitting the batch at a line
// boundary can still count its fallbacks.
struct ExportBatch {
  uint8_t* data = nullptr;
  size_t size = 0;
  size_t capacity = 0;  // bytes allocated at `data` (>= size)
  uint64_t entries = 0;
  uint64_t fallbacks = 0;
  std::vector<size_t> fallback_ends;
};

// ExportSetup: the validated plan and database specs of one export, and once resolved (ResolveExportDbs) each
// database's record in the snapshot, by spec index. Shared read-only by the cursors of a parallel export.
struct ExportSetup {
  SnapshotPlan plan;
  std::vector<ExportDbSpec> dbs;
  std::vector<DbRecord> records;
  bool resolved = false;
};

// ResolveExportDbs: fills setup->records (kNotFound for a missing database, kCorruptEnv for a bad record) and sets
// `resolved`. Reads the main tree through `reader`, whose format is adopted. Blocking.
Status ResolveExportDbs(const PageReader& reader, ExportSetup* setup);

// ExportRange: a contiguous key range of database `db` (a spec index): the subtrees rooted at `roots`, pages at
// `level` of its main tree (0 = the root) listed in key order; the whole database when `roots` is empty.
struct ExportRange {
  size_t db = 0;
  uint32_t level = 0;
  std::vector<uint64_t> roots;
};

// PlanExportRanges: cuts database `db` of `setup` (resolved) into ranges of about `target_leaves` leaf pages each,
// appended to `*out` in key order: one whole-database range when it has fewer than 2 x target_leaves leaf pages
// or is a single leaf; otherwise the children of its root, or of the next levels down until there are enough of
// them (reading only branch pages, each checked as TreeCursor checks them; at most `max_ranges` ranges), grouped
// into contiguous runs of equal count. `*pages_read` counts the pages read. Blocking.
Status PlanExportRanges(const PageReader& reader, const ExportSetup& setup, size_t db, uint64_t target_leaves,
                        size_t max_ranges, std::vector<ExportRange>* out, uint64_t* pages_read);

// ExportBatchSource: what the JS ExportHandle pulls batches from: a single ExportCursor, or a ParallelExport
// (export_parallel.h) that runs ranges on worker threads. NextBatch: one caller at a time, blocking; stats(): only
// between NextBatch calls; Cancel(): any thread, idempotent, makes a running and every later NextBatch fail with
// kAborted (a NextBatch that already finished keeps its result).
class ExportBatchSource {
 public:
  virtual ~ExportBatchSource() = default;
  virtual Status NextBatch(uint64_t max_bytes, ExportBatch* out) = 0;
  virtual ExportStats stats() const = 0;
  virtual void Cancel() = 0;
};

// TreeCursor: an in-order walk of the leaf entries of one tree, resumable between calls. Owns one page buffer per
// level. `reader`, `meta` and `cancel` must outlive it.
class TreeCursor {
 public:
  // Item: one leaf entry. `node` points at the node header inside `page` (nullptr on a LEAF2 page, where the entry
  // is just `key`). Valid until the next call to Next or Reset.
  struct Item {
    const uint8_t* page = nullptr;
    uint64_t pgno = 0;
    size_t node = 0;  // offset of the node in the page
    const uint8_t* key = nullptr;
    size_t key_size = 0;
    bool leaf2 = false;
  };

  TreeCursor(const PageReader& reader, const Meta& meta, ExportStats* stats);

  // Reset: starts a walk of the tree of `record` (already checked with DbRecordProblem). `leaf2_allowed`: a DUPFIXED
  // sub-database, whose leaves may be LEAF2 pages. `label` names the tree in error messages. With `roots`, the walk
  // covers only the subtrees rooted at those pages, which sit at level `roots_level` of the tree (0 = its root),
  // one after the other; every page is still checked against its level in the whole tree, and the whole walk may
  // read at most as many pages as the record has.
  void Reset(const DbRecord& record, bool leaf2_allowed, std::string label, std::vector<uint64_t> roots = {},
             uint32_t roots_level = 0);

  // Next: the next entry in key order into `*item`, or `*end` = true after the last one.
  Status Next(Item* item, bool* end);

  const std::string& label() const { return label_; }

 private:
  struct Level {
    std::vector<uint8_t> page;
    std::vector<size_t> offsets;  // node offsets (branch and leaf pages)
    size_t index = 0;             // branch: the child being walked; leaf: the next entry
    size_t count = 0;
    uint64_t pgno = 0;
    bool leaf2 = false;
    size_t leaf2_size = 0;        // LEAF2: the fixed key size (mp_pad)
  };

  Status Load(uint32_t level, uint64_t pgno);
  Status DescendFrom(uint32_t level);
  Status StartSubtree();

  const PageReader& reader_;
  const Meta& meta_;
  const PageFormat& format_;
  const size_t page_size_;
  ExportStats* stats_;
  std::vector<Level> levels_;
  DbRecord record_;
  std::vector<uint64_t> roots_;  // the subtrees walked, in order (just the record's root for a whole tree)
  size_t root_index_ = 0;
  uint32_t roots_level_ = 0;     // level of roots_ in the whole tree; levels_[k] is the tree's level roots_level_ + k
  uint32_t depth_ = 0;           // levels below and including roots_ (record.depth - roots_level_)
  bool leaf2_allowed_ = false;
  std::string label_;
  bool started_ = false;
  bool done_ = true;
  uint64_t pages_read_ = 0;
};

// ExportCursor: see the top of this file. Built on the JS thread from a validated plan; used on the pool.
class ExportCursor : public ExportBatchSource {
 public:
  // A cursor over every database of the plan, in order; resolves the databases at its first NextBatch.
  ExportCursor(SnapshotPlan plan, std::vector<ExportDbSpec> dbs);
  // A cursor over one range at a time (SetRange) of an already resolved `setup`, stopped by `*cancel` (which must
  // outlive it); opens its own PageReader at its first NextBatch.
  ExportCursor(std::shared_ptr<const ExportSetup> setup, const std::atomic<bool>* cancel);

  // NextBatch: see the top of this file. Blocking.
  Status NextBatch(uint64_t max_bytes, ExportBatch* out) override;
  ExportStats stats() const override { return stats_; }
  void Cancel() override { own_cancel_.store(true); }

  // SetRange: the following NextBatch calls return the lines of `range` only (size 0 after its last one). Only for
  // the range constructor; a failure stays (see the top of this file).
  void SetRange(const ExportRange& range);
  // RecordFallbackEnds: batches list their fallback lines' ends (ExportBatch::fallback_ends).
  void RecordFallbackEnds(bool on) { record_fallback_ends_ = on; }
  // Recycle: the next NextBatch writes into `data` (malloc'd, `capacity` bytes, now owned by the cursor) rather
  // than a new block; it grows it as needed.
  void Recycle(uint8_t* data, size_t capacity) { spare_.Adopt(data, capacity); }

 private:
  Status Start();
  Status EnterDb();
  Status Fill(uint64_t max_bytes, ByteSink* sink, ExportBatch* batch);
  // LeafEntry: writes the line(s) of one node of the current database's main tree.
  Status LeafEntry(const TreeCursor::Item& item, ByteSink* sink, ExportBatch* batch);
  Status DupSubPage(const TreeCursor::Item& item, const uint8_t* data, size_t size, ByteSink* sink,
                    ExportBatch* batch);
  Status ReadOverflow(const TreeCursor::Item& item, const uint8_t* ref, uint64_t data_size, const uint8_t** value);
  void WriteLine(const uint8_t* key, size_t key_size, const uint8_t* value, size_t value_size, ByteSink* sink,
                 ExportBatch* batch);
  void WriteKey(const uint8_t* key, size_t key_size, ByteSink* sink);
  // WriteValue: false when the value took a fallback.
  bool WriteValue(const uint8_t* value, size_t value_size, ByteSink* sink);

  std::shared_ptr<ExportSetup> own_setup_;     // the whole-export constructor's setup (resolved by Start)
  std::shared_ptr<const ExportSetup> setup_;  // what the cursor reads: own_setup_, or the shared one
  const std::vector<ExportDbSpec>& dbs() const { return setup_->dbs; }
  std::atomic<bool> own_cancel_{false};
  const std::atomic<bool>* cancel_ = &own_cancel_;
  std::unique_ptr<PageReader> reader_;
  ExportStats stats_;
  Status failure_;
  bool started_ = false;
  size_t db_index_ = 0;
  size_t end_db_ = 0;                 // one past the last database to walk
  const ExportRange* range_ = nullptr;  // SetRange's range (the caller keeps it alive), or nullptr: whole databases
  bool record_fallback_ends_ = false;
  ByteSink spare_;  // a recycled block for the next batch (Recycle)
  bool db_entered_ = false;
  std::unique_ptr<TreeCursor> main_;
  std::unique_ptr<TreeCursor> dups_;
  bool in_dups_ = false;
  std::string dup_key_;
  MsgpackJson transcoder_;
  std::vector<uint8_t> overflow_;
  std::vector<uint8_t> decompressed_;  // the current value of a compression store, decompressed
  std::vector<size_t> sub_offsets_;
};

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_EXPORT_CURSOR_H_
