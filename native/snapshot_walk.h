// snapshot_walk.h: SnapshotWalker, which collects the pages of one snapshot (transaction T) that a page snapshot
// ships: every page reachable from T's meta (full) or only those written after a base transaction (incremental).
//
// What is reachable (LMDB-INTERNALS.md §4.4-§4.7):
// - the free-list tree (meta + 24) and the main tree (meta + 72). The free list's record values are opaque (lmdb-js's
//   fork changed their format), so only its B-tree structure and the overflow runs of its values are followed; that
//   is enough for base + deltas to reproduce T's free list byte for byte;
// - in the main tree, every F_SUBDATA node: a named database, walked as a tree of its own;
// - in DUPSORT trees, every F_DUPDATA|F_SUBDATA node: a sub-database of duplicates (its LEAF2 leaves when DUPFIXED).
//   F_DUPDATA alone is a sub-page stored inside the node: nothing to walk;
// - every F_BIGDATA node: an overflow run of mp_pages pages. Only its first page has a header; the continuation
//   pages are raw value bytes and are never parsed.
//
// Incremental (base_txnid > 0, data version 2 only): copy-on-write stamps every page a commit writes, and all its
// ancestors up to the root, with the commit's txnid, and committed pages are never modified in place. So a page with
// mp_txnid <= base is, with everything below it, exactly as it was at the base: its subtree is pruned after reading
// that one page. An overflow run is taken iff its first page's txnid > base; in data version 2 the F_BIGDATA
// reference carries the run's txnid (MDB_ovpage.op_txnid, set when the run is written, mdb.c mdb_node_add), so a
// run whose reference says <= base is skipped without a read, and the others are confirmed from their header. Full
// walks check that every reference's txnid equals its header's (WalkStats::overflow_ref_mismatches) so the tests
// can keep that assumption honest.
//
// The cost of an incremental: every page written since the base is read whole, and every child of a changed branch
// page is probed (a header-only read: LMDB's branch nodes do not record their child's txnid, so the child's header is
// the only way to recognise an unchanged subtree). So at most (1 + branch fan-out) page reads per changed page and
// bytes parsed proportional to the changes; never a pass over the whole file. Changes scattered over every leaf's
// parent do make the probes touch most leaf headers (measured in test/snapshot; see header_probes).
//
// Validation: every page is read through PageReader (page number range 2..last_pg, header page number, txnid <= T),
// its kind is checked against its level (branch above, leaf at the record's depth), every slot, node, key, sub-page,
// record and overflow reference is bounds-checked, a page reached twice is an error, and the walk stops after
// last_pg - 1 page reads whatever the file claims. Full walks also check each tree's page and entry counts against
// its record. All failures are kCorruptEnv, prefixed with the tree they were found in.
//
// Threading: one thread (an AsyncWorker's Execute). `cancel` may be set from any thread; the walk then stops with
// kAborted at its next page.

#ifndef PAGEVAULT_NATIVE_SNAPSHOT_WALK_H_
#define PAGEVAULT_NATIVE_SNAPSHOT_WALK_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "errors.h"
#include "format.h"
#include "page_reader.h"
#include "snapshot_pages.h"

namespace pagevault {

// WalkStats: what a walk did. All counts are pages or runs, never bytes.
struct WalkStats {
  uint64_t pages_visited = 0;            // pages read: whole (tree pages parsed) or header only (see header_probes)
  uint64_t header_probes = 0;            // of those, read as a header only: pruned pages and overflow first pages
  uint64_t subtrees_pruned = 0;          // incremental: pages read and found unchanged since the base
  uint64_t overflow_runs_skipped = 0;    // incremental: overflow runs skipped by their reference's txnid, unread
  uint64_t databases = 0;                // trees entered: free list, main, named databases, dupsort sub-databases
  uint64_t overflow_ref_mismatches = 0;  // full, v2: references whose txnid differs from their run's header
};

// SnapshotWalker: single use. `reader` (with its format adopted), `meta` (T's meta, validated), `cancel` and
// `pages` must outlive it. Pages to ship are added to `pages`.
class SnapshotWalker {
 public:
  SnapshotWalker(const PageReader& reader, const Meta& meta, uint64_t base_txnid, const std::atomic<bool>& cancel,
                 PageSet* pages);

  // WalkAll: walks the free-list tree, then the main tree and everything below it.
  Status WalkAll();

  const WalkStats& stats() const { return stats_; }

 private:
  enum class TreeKind { kFreeList, kMain, kNamed, kDupSub };

  // Tree: one B-tree being walked, and what was counted in it (compared with `record` after a full walk).
  struct Tree {
    TreeKind kind;
    std::string label;
    DbRecord record;
    uint64_t branch_pages = 0;
    uint64_t leaf_pages = 0;
    uint64_t overflow_pages = 0;
    uint64_t entries = 0;
  };

  Status WalkTree(Tree* tree);
  Status VisitPage(Tree* tree, uint64_t pgno, uint32_t level);
  Status VisitBranch(Tree* tree, uint64_t pgno, uint32_t level, const std::vector<uint8_t>& page);
  Status VisitLeaf(Tree* tree, uint64_t pgno, const std::vector<uint8_t>& page);
  Status VisitNode(Tree* tree, uint64_t pgno, const std::vector<uint8_t>& page, size_t node);
  Status VisitOverflow(Tree* tree, uint64_t leaf_pgno, const uint8_t* ref, uint64_t data_size);
  Status VisitSubDatabase(Tree* parent, TreeKind kind, std::string label, const uint8_t* record_bytes);
  Status CountVisit(const Tree& tree);

  const PageReader& reader_;
  const Meta& meta_;
  const PageFormat& format_;
  const size_t page_size_;
  const uint64_t base_txnid_;
  const bool incremental_;
  const std::atomic<bool>& cancel_;
  PageSet* pages_;
  WalkStats stats_;
  // One page buffer per recursion depth (trees nest at most main -> named -> dupsort sub-database), sized once so
  // references into it stay valid across the recursion.
  std::vector<std::vector<uint8_t>> buffers_;
  uint32_t depth_ = 0;
};

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_SNAPSHOT_WALK_H_
