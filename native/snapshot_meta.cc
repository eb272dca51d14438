// snapshot_meta.cc: see snapshot_meta.h.

#include "snapshot_meta.h"

#include <cinttypes>
#include <cstring>

#include "page_reader.h"
#include "text.h"

namespace pagevault {

namespace {

void StoreU16(uint8_t* p, uint16_t value) {
  p[0] = static_cast<uint8_t>(value);
  p[1] = static_cast<uint8_t>(value >> 8);
}

void StoreU64(uint8_t* p, uint64_t value) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(value >> (8 * i));
}

}  // namespace

Status PlanSnapshot(const std::string& data_path, const uint8_t* raw, size_t size, uint64_t txnid,
                    uint64_t base_txnid, const uint8_t* key, SnapshotPlan* out) {
  MetaPages decoded;
  Status status = PageReader::DecodeMetaPages(raw, size, data_path, &decoded);
  if (!status.ok()) return status;
  const Meta& meta = decoded.metas[txnid & 1];
  if (meta.txnid != txnid) {
    return Status::CorruptEnv(StringPrintf("meta page %u holds txn %" PRIu64 ", not the pinned txn %" PRIu64
                                           " (were the meta pages read under the write lock?)",
                                           static_cast<unsigned>(txnid & 1), meta.txnid, txnid));
  }
  status = PageReader::ValidateMeta(meta, decoded.page_size);
  if (!status.ok()) return status;
  const bool encrypted = (meta.env_flags() & kEnvFlagEncrypted) != 0;
  if (base_txnid > 0 && !decoded.format->has_page_txnid) {
    return Status::IncrementalUnavailable(
        "incremental page snapshots need page txnids, which LMDB data version 1 files do not have; take a full "
        "snapshot");
  }
  if (base_txnid > 0 && encrypted && key == nullptr) {
    return Status::IncrementalUnavailable(
        "an incremental page snapshot of an lmdb-js-encrypted environment walks its trees, which needs the "
        "database's key (its lmdb-js encryptionKey; --db-key-env or --db-key-file); without it, take a full snapshot");
  }
  if (encrypted && key != nullptr) {
    out->has_key = true;
    std::memcpy(out->key.data(), key, out->key.size());
  }
  out->data_path = data_path;
  out->format = decoded.format;
  out->page_size = decoded.page_size;
  out->meta = meta;
  out->txnid = txnid;
  out->base_txnid = base_txnid;
  out->encrypted = encrypted;
  NormalizeMetaPages(*decoded.format, decoded.page_size, raw, txnid, &out->normalized_metas);
  return Status::Ok();
}

void NormalizeMetaPages(const PageFormat& format, uint32_t page_size, const uint8_t* raw, uint64_t txnid,
                        std::string* out) {
  out->assign(raw, raw + 2 * static_cast<size_t>(page_size));
  const uint8_t* source = raw + (txnid & 1) * page_size;
  for (uint64_t slot = 0; slot < 2; ++slot) {
    uint8_t* page = reinterpret_cast<uint8_t*>(&(*out)[0]) + slot * page_size;
    // Everything but the last two bytes comes from T's page; those stay the slot's own.
    std::memcpy(page, source, page_size - 2);
    StoreU64(page, slot);
    uint8_t* meta = page + format.header_size;
    StoreU64(meta + kMetaTxnidOffset, txnid);
    uint8_t* env_flags = meta + kMetaFreeDbOffset + kDbRecordFlagsOffset;
    StoreU16(env_flags, static_cast<uint16_t>(LoadU16(env_flags) & ~kEnvFlagUnflushed));
    if (format.data_version >= 2) {
      StoreU64(meta + kMetaBootIdOffset, 0);
      std::memset(page + page_size / 2 + format.header_size, 0, format.meta_size);
    }
  }
}

}  // namespace pagevault
