// main_tree.h: MainTreeWalker, a read-only walk of an environment's main database B-tree that lists the named
// databases (LMDB-INTERNALS.md §4.4-4.5).
//
// Named databases are leaf nodes of the main tree with F_SUBDATA and without F_DUPDATA; the key is the name plus a
// trailing NUL and the data is the database's 48-byte MDB_db record. Every other leaf node (lmdb-js's root-store
// entries) is counted and skipped. Every page is bounds-checked; a malformed page yields kCorruptEnv, never a read
// outside the page buffer.

#ifndef PAGEVAULT_NATIVE_MAIN_TREE_H_
#define PAGEVAULT_NATIVE_MAIN_TREE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "errors.h"
#include "format.h"
#include "page_reader.h"

namespace pagevault {

// NamedDb: one named database: its name (the key without the trailing NUL, raw bytes) and its record.
struct NamedDb {
  std::string name;
  DbRecord record;
};

// MainTreeWalker: walks the main tree of one snapshot (`meta`). Single use, single thread; `reader` and `meta` must
// outlive it.
class MainTreeWalker {
 public:
  MainTreeWalker(const PageReader& reader, const Meta& meta);

  // ListNamedDatabases: appends the named databases in key order (byte order of the names). Besides the per-page
  // checks it verifies that the pages and entries found match the main record's counts.
  Status ListNamedDatabases(std::vector<NamedDb>* out);

 private:
  Status VisitPage(uint64_t pgno, uint32_t level, std::vector<NamedDb>* out);
  Status VisitLeafNode(uint64_t pgno, const std::vector<uint8_t>& page, size_t node, std::vector<NamedDb>* out);

  const PageReader& reader_;
  const Meta& meta_;
  const PageFormat& format_;
  const size_t page_size_;
  std::vector<std::vector<uint8_t>> level_pages_;  // one reusable page buffer per tree level
  uint64_t branch_pages_seen_ = 0;
  uint64_t leaf_pages_seen_ = 0;
  uint64_t entries_seen_ = 0;
};

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_MAIN_TREE_H_
