// format.cc: per-version layout constants and the MDB_db decoder (layouts documented in format.h).

#include "format.h"

#include <cinttypes>

#include "text.h"

namespace pagevault {

namespace {

constexpr PageFormat kFormatV1 = {
    1, 16, 0, 136, 0x8000, 8, false, "LMDB 0.9 data v1",
};

constexpr PageFormat kFormatV2 = {
    2, 24, 24, 144, 0x10000, 24, true, "lmdb-js data v2",
};

}  // namespace

const PageFormat* FormatForVersion(uint32_t data_version) {
  switch (data_version) {
    case 1:
      return &kFormatV1;
    case 2:
      return &kFormatV2;
    default:
      return nullptr;
  }
}

DbRecord DecodeDbRecord(const uint8_t* p) {
  DbRecord record;
  record.pad = LoadU32(p);
  record.flags = LoadU16(p + 4);
  record.depth = LoadU16(p + 6);
  record.branch_pages = LoadU64(p + 8);
  record.leaf_pages = LoadU64(p + 16);
  record.overflow_pages = LoadU64(p + 24);
  record.entries = LoadU64(p + 32);
  record.root = LoadU64(p + 40);
  return record;
}

std::string DbRecordProblem(const DbRecord& record, uint64_t last_page) {
  if (record.root != kInvalidPage && (record.root < 2 || record.root > last_page)) {
    return StringPrintf("root page %" PRIu64 " outside 2..%" PRIu64, record.root, last_page);
  }
  if (record.depth > kMaxTreeDepth) return StringPrintf("depth %u exceeds %u", record.depth, kMaxTreeDepth);
  if (record.root == kInvalidPage && record.depth != 0) return StringPrintf("empty tree with depth %u", record.depth);
  if (record.root != kInvalidPage && record.depth == 0) return "non-empty tree with depth 0";
  if (record.branch_pages > kMaxSafeInteger || record.leaf_pages > kMaxSafeInteger ||
      record.overflow_pages > kMaxSafeInteger || record.entries > kMaxSafeInteger) {
    return "page or entry count beyond 2^53";
  }
  return "";
}

}  // namespace pagevault
