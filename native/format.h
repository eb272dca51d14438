// format.h: the LMDB on-disk layout pagevault reads, in plain constants and structs (no LMDB headers).
//
// Source of truth: node_modules/lmdb/dependencies/lmdb/libraries/liblmdb/mdb.c (lmdb-js 3.5.6, data version 2)
// and LMDB 0.9.29 (data version 1); summarised in /work/shared/LMDB-INTERNALS.md §1.2 and §4.1.
// Only 64-bit little-endian layouts are supported; everything else is refused as UNSUPPORTED_FORMAT.
//
// Page header (offsets in bytes)            v1 (stock 0.9)    v2 (lmdb-js default)
//   mp_pgno     u64 page number              0                 0
//   mp_txnid    u64 txn that wrote the page  -                 8
//   mp_pad      u16 (LEAF2 key size)         8                 16
//   mp_flags    u16 page flags               10                18
//   mp_lower    u16 free space start         12                20   (v2: relative to the end of the header)
//   mp_upper    u16 free space end           14                22   (v2: relative to the end of the header)
//   header size                              16                24
//   slot offsets are relative to             page start        end of header (PAGEBASE)
//
// Meta record (right after the header of pages 0 and 1):
//   +0 u32 magic 0xBEEFC0DE, +4 u32 version (low 16 bits compared), +8 u64 fixed-map address, +16 u64 map size,
//   +24 MDB_db free-list record (its md_pad is the page size, its md_flags the env flags), +72 MDB_db main record,
//   +120 u64 last page, +128 u64 txnid, +136 u64 boot_id (v2 lmdb-js only).
//
// MDB_db record (48 bytes): +0 u32 md_pad, +4 u16 md_flags, +6 u16 md_depth, +8 u64 branch pages,
//   +16 u64 leaf pages, +24 u64 overflow pages, +32 u64 entries, +40 u64 root (all ones = empty tree).
//
// Node (8-byte header, then key, then data): +0 u16 lo, +2 u16 hi, +4 u16 flags, +6 u16 key size.
//   Leaf: data size = lo | hi << 16. Branch: child page = lo | hi << 16 | flags << 32.

#ifndef PAGEVAULT_NATIVE_FORMAT_H_
#define PAGEVAULT_NATIVE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace pagevault {

constexpr uint32_t kMetaMagic = 0xBEEFC0DEu;
constexpr uint32_t kMetaMagicSwapped = 0xDEC0EFBEu;  // a big-endian file read on a little-endian host

constexpr uint16_t kPageBranch = 0x01;
constexpr uint16_t kPageLeaf = 0x02;
constexpr uint16_t kPageOverflow = 0x04;
constexpr uint16_t kPageMeta = 0x08;
constexpr uint16_t kPageLeaf2 = 0x20;
constexpr uint16_t kPageSubPage = 0x40;

// MDB_db md_flags bits the snapshot walk needs (lmdb.h): DUPSORT trees keep duplicates in sub-pages or sub-databases,
// DUPFIXED sub-databases use LEAF2 leaves (keys packed without node headers).
constexpr uint16_t kDbDupSort = 0x04;
constexpr uint16_t kDbDupFixed = 0x10;

constexpr uint16_t kNodeBigData = 0x01;
constexpr uint16_t kNodeSubData = 0x02;
constexpr uint16_t kNodeDupData = 0x04;
constexpr size_t kNodeHeaderSize = 8;

// Env flag kept in the free-list record's md_flags by lmdb-js's LMDB when pages are encrypted (lmdb.h MDB_ENCRYPT).
constexpr uint32_t kEnvFlagEncrypted = 0x2000;
// Env flag lmdb-js's LMDB sets on a meta committed with overlappingSync and not yet flushed (lmdb.h
// MDB_OVERLAPPINGSYNC). A meta carrying it may be passed over at open time (LMDB-INTERNALS.md §1.2, §4.3).
constexpr uint32_t kEnvFlagUnflushed = 0x1000;

// Offsets inside the meta record (after the page header) and inside an MDB_db record; see the table above.
constexpr size_t kMetaMapSizeOffset = 16;
constexpr size_t kMetaFreeDbOffset = 24;
constexpr size_t kMetaMainDbOffset = 72;
constexpr size_t kMetaLastPageOffset = 120;
constexpr size_t kMetaTxnidOffset = 128;
constexpr size_t kMetaBootIdOffset = 136;  // v2 only
constexpr size_t kDbRecordFlagsOffset = 4;

constexpr uint64_t kInvalidPage = ~uint64_t{0};
constexpr size_t kDbRecordSize = 48;
constexpr uint32_t kMinPageSize = 512;
// LMDB's cursor stack holds 32 levels (CURSOR_STACK); no valid tree is deeper.
constexpr uint32_t kMaxTreeDepth = 32;
// Largest integer a JS number holds exactly; larger on-disk counters are reported as corruption.
constexpr uint64_t kMaxSafeInteger = (uint64_t{1} << 53) - 1;

// PageFormat: the per-data-version layout constants (see the table at the top of this file).
struct PageFormat {
  uint32_t data_version = 0;      // 1 (LMDB 0.9) or 2 (lmdb-js 3.x default)
  uint32_t header_size = 0;       // PAGEHDRSZ: 16 or 24
  uint32_t page_base = 0;         // PAGEBASE: what slot offsets and mp_lower/mp_upper are relative to: 0 or 24
  uint32_t meta_size = 0;         // sizeof(MDB_meta): 136 or 144
  uint32_t max_page_size = 0;     // MAX_PAGESIZE: 32 KiB or 64 KiB
  uint32_t big_data_ref_size = 0; // in-page reference of an F_BIGDATA node: 8 (page number) or 24 (MDB_ovpage)
  bool has_page_txnid = false;    // v2 pages carry mp_txnid at offset 8
  const char* description = "";
};

// Page header field offsets, the same in both layouts relative to the end of the header: flags, then mp_lower and
// mp_upper (on an overflow page, mp_pages overlays lower/upper).
inline size_t PageFlagsOffset(const PageFormat& format) { return format.header_size - 6; }
inline size_t PageLowerOffset(const PageFormat& format) { return format.header_size - 4; }
inline size_t PageUpperOffset(const PageFormat& format) { return format.header_size - 2; }
inline size_t OverflowPagesOffset(const PageFormat& format) { return format.header_size - 4; }

// FormatForVersion: the layout of a 64-bit little-endian file of `data_version`, or nullptr when unknown.
const PageFormat* FormatForVersion(uint32_t data_version);

// DbRecord: one decoded MDB_db record (48 bytes on disk).
struct DbRecord {
  uint32_t pad = 0;
  uint16_t flags = 0;
  uint16_t depth = 0;
  uint64_t branch_pages = 0;
  uint64_t leaf_pages = 0;
  uint64_t overflow_pages = 0;
  uint64_t entries = 0;
  uint64_t root = kInvalidPage;
};

// Meta: one decoded meta page (page 0 or 1).
struct Meta {
  uint32_t version = 0;
  uint64_t map_size = 0;
  DbRecord free_db;
  DbRecord main_db;
  uint64_t last_page = 0;
  uint64_t txnid = 0;
  uint64_t boot_id = 0;   // v2 only; 0 in v1
  uint32_t page_size() const { return free_db.pad; }
  uint32_t env_flags() const { return free_db.flags; }
};

// Little-endian loads from a byte pointer. Callers bounds-check first; these never check.
inline uint16_t LoadU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t LoadU64(const uint8_t* p) {
  return static_cast<uint64_t>(LoadU32(p)) | (static_cast<uint64_t>(LoadU32(p + 4)) << 32);
}

// DecodeDbRecord: decodes the 48 bytes at `p` (caller guarantees they are in bounds).
DbRecord DecodeDbRecord(const uint8_t* p);

// DbRecordProblem: an empty string when `record` is plausible for a snapshot whose last page is `last_page` (root
// in 2..last_page or empty, depth within kMaxTreeDepth and consistent with the root, counters below 2^53), else a
// short description of what is wrong.
std::string DbRecordProblem(const DbRecord& record, uint64_t last_page);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_FORMAT_H_
