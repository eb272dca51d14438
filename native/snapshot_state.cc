// snapshot_state.cc: see snapshot_state.h.

#include "snapshot_state.h"

#include <algorithm>
#include <cerrno>
#include <new>

namespace pagevault {

namespace {

// CheckKey: kWrongKey unless the decrypted root pages of the main and free-list trees look like tree pages. There is
// no authentication tag; with a wrong key the flags and bounds are random, which these checks catch for all but a
// vanishing fraction of keys (and the walk's structural checks catch the rest as corruption).
Status CheckKey(const PageReader& reader, const Meta& meta) {
  const PageFormat& format = reader.format();
  for (const DbRecord* record : {&meta.main_db, &meta.free_db}) {
    if (record->root == kInvalidPage) continue;
    std::vector<uint8_t> page;
    Status status = reader.ReadPage(record->root, meta, &page);
    if (!status.ok()) return status;
    const uint16_t flags = LoadU16(page.data() + PageFlagsOffset(format));
    const bool tree_page = (flags & (kPageBranch | kPageLeaf)) != 0 && (flags & kPageOverflow) == 0;
    std::vector<size_t> offsets;
    if (!tree_page || !PageNodeOffsets(format, record->root, page.data(), page.size(), &offsets).ok()) {
      return Status::WrongKey(
          "the database key does not decrypt the environment's pages (their tree roots read as garbage): give the "
          "lmdb-js encryptionKey the database was opened with");
    }
  }
  return Status::Ok();
}

}  // namespace

Status SnapshotState::Collect() {
  Status status = PageReader::Open(plan_.data_path, &reader_);
  if (!status.ok()) return status;
  status = reader_->AdoptFormat(plan_.format, plan_.page_size);
  if (!status.ok()) return status;
  const Meta& meta = plan_.meta;
  if (plan_.encrypted && plan_.base_txnid == 0) {
    // A full copy of ciphertext: ship every data page the file holds, as mdb_env_copyfd0 does (it clamps to the
    // file size too), no key needed. A page past the end of the file was never written, so it is free in T.
    const uint64_t file_pages = reader_->file_size() / plan_.page_size;
    const uint64_t last = std::min(meta.last_page, file_pages == 0 ? 0 : file_pages - 1);
    if (last >= 2) runs_.push_back(PageRun{2, last - 1});
  } else {
    if (plan_.encrypted) {
      // An incremental of an encrypted env: walk the decrypted trees (PlanSnapshot made sure there is a key).
      reader_->SetDecryptionKey(plan_.key.data());
      status = CheckKey(*reader_, meta);
      if (!status.ok()) return status;
    }
    PageSet pages;
    SnapshotWalker walker(*reader_, meta, plan_.base_txnid, cancel, &pages);
    status = walker.WalkAll();
    stats_.walk = walker.stats();
    if (!status.ok()) return status;
    runs_ = pages.Runs();
  }
  for (const PageRun& run : runs_) stats_.pages_to_ship += run.count;
  stats_.runs = runs_.size();
  return Status::Ok();
}

Status SnapshotState::NextBatch(uint64_t max_bytes, Batch* out) {
  if (!failure_.ok()) return failure_;
  const uint64_t budget = std::max<uint64_t>(1, max_bytes / plan_.page_size);
  std::vector<PageRun> pieces;
  uint64_t pages = 0;
  size_t index = run_index_;
  uint64_t offset = run_offset_;
  while (index < runs_.size() && pages < budget) {
    const PageRun& run = runs_[index];
    const uint64_t take = std::min(run.count - offset, budget - pages);
    pieces.push_back(PageRun{run.first + offset, take});
    pages += take;
    offset += take;
    if (offset == run.count) {
      ++index;
      offset = 0;
    }
  }
  out->runs.clear();
  out->size = 0;
  if (pages == 0) return Status::Ok();

  const size_t size = static_cast<size_t>(pages * plan_.page_size);
  out->data.reset(new (std::nothrow) uint8_t[size]);
  if (!out->data) {
    failure_ = Status::FromErrno(ENOMEM, "malloc", plan_.data_path);
    return failure_;
  }
  uint8_t* dst = out->data.get();
  for (const PageRun& piece : pieces) {
    if (cancel.load(std::memory_order_relaxed)) {
      failure_ = Status::Aborted("snapshot batch read was cancelled");
      return failure_;
    }
    Status status = reader_->ReadPages(piece.first, piece.count, plan_.meta, dst);
    if (!status.ok()) {
      failure_ = status;
      return failure_;
    }
    dst += piece.count * plan_.page_size;
    out->runs.push_back(static_cast<double>(piece.first));
    out->runs.push_back(static_cast<double>(piece.count));
  }
  out->size = size;
  run_index_ = index;
  run_offset_ = offset;
  stats_.pages_shipped += pages;
  ++stats_.batches;
  return Status::Ok();
}

}  // namespace pagevault
