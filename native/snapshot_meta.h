// snapshot_meta.h: the meta side of a page snapshot: checking the meta pages read under lmdb-js's write lock against
// the pinned transaction T, and building the normalized meta pages a restored snapshot starts with.
//
// Encrypted environments (lmdb-js `encryptionKey`): a full snapshot copies every page as stored and needs no key;
// an incremental walks the trees, which needs the key to decrypt the tree pages (chacha8.h). The shipped pages stay
// encrypted either way.
//
// No I/O and no JS: everything here works on bytes already read, so it is safe on any thread.

#ifndef PAGEVAULT_NATIVE_SNAPSHOT_META_H_
#define PAGEVAULT_NATIVE_SNAPSHOT_META_H_

#include <array>
#include <cstdint>
#include <string>

#include "errors.h"
#include "format.h"

namespace pagevault {

// SnapshotPlan: what a snapshot of transaction `txnid` is, decided from the meta pages before any data page is read.
struct SnapshotPlan {
  std::string data_path;         // the env directory or data file given; PageReader::Open resolves it
  const PageFormat* format = nullptr;
  uint32_t page_size = 0;
  Meta meta;                     // T's meta (slot txnid & 1), validated
  uint64_t txnid = 0;            // T
  uint64_t base_txnid = 0;       // 0: full snapshot; else pages written after this txn only
  bool encrypted = false;        // mm_flags has kEnvFlagEncrypted: pages are stored encrypted (and shipped so)
  bool has_key = false;          // an encrypted env's key was given: its trees can be walked (incrementals)
  std::array<uint8_t, 32> key{}; // the lmdb-js encryptionKey bytes when has_key
  std::string normalized_metas;  // NormalizeMetaPages(raw, T): 2 x page size bytes
};

// PlanSnapshot: decodes `raw` (pages 0 and 1, exactly 2 x page size bytes, read while T was the last commit),
// checks that slot T & 1 holds T (kCorruptEnv otherwise: the bytes were not read under the write lock, or T is not
// the last commit), validates that meta, and fills `*out`. An incremental (base_txnid > 0) of a data version 1 file
// (no page txnids), or of an encrypted env without its key (`key`, 32 bytes, or null), is kIncrementalUnavailable.
// A key given for an env that is not encrypted is ignored. The caller checks base_txnid <= txnid.
Status PlanSnapshot(const std::string& data_path, const uint8_t* raw, size_t size, uint64_t txnid,
                    uint64_t base_txnid, const uint8_t* key, SnapshotPlan* out);

// NormalizeMetaPages: the two meta pages of a restored snapshot of T (LMDB-INTERNALS.md §4.3), built from `raw`:
// - both pages are copies of T's page (slot T & 1) with page numbers 0 and 1 and mm_txnid T, so LMDB finds T in
//   whichever slot it prefers (with equal txnids, mdb_pick_meta returns T either way);
// - 0x1000 (committed with overlappingSync, not yet flushed) is cleared in mm_flags (the free-list record's md_flags
//   at meta + 24 + 4): lmdb-js opens with MDB_PREVSNAPSHOT and, with that flag set, would fall back to the older
//   meta when the boot id differs or safeRestore is on (mdb_pick_meta, mdb.c L5182);
// - data version 2: lmdb-js's flushed meta at page 0 + page size / 2 (mdb_env_write_meta writes the meta fields from
//   mm_mapsize on at PAGEHDRSZ + psize / 2 + 16) is zeroed in both pages; a zero txnid there is ignored ("if b's
//   txnid is 0 use a"), so it cannot point the open at an older, unshipped snapshot;
// - boot_id (v2) is zeroed: the copy belongs to no boot, and with 0x1000 clear it is never consulted;
// - each page keeps its own last two bytes (page 0's hold LMDB's checksum size; lmdb-js never enables checksums).
// `out` receives 2 x page size bytes. `raw` must have been decoded and checked by PlanSnapshot.
void NormalizeMetaPages(const PageFormat& format, uint32_t page_size, const uint8_t* raw, uint64_t txnid,
                        std::string* out);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_SNAPSHOT_META_H_
