// format.cc: per-version layout constants and the MDB_db decoder (layouts documented in format.h).

#include "format.h"

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

}  // namespace pagevault
