// page_reader.cc: format detection, meta pages and bounds-checked page reads (contract in page_reader.h).

#include "page_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <string>

#include "chacha8.h"
#include "text.h"

namespace pagevault {

namespace {

// Reading 256 bytes of page 0 covers a page header and a meta record of every supported layout (24 + 144).
constexpr size_t kHeadProbeSize = 256;

bool IsPowerOfTwo(uint32_t value) { return value != 0 && (value & (value - 1)) == 0; }

bool HasU32At(const uint8_t* head, size_t size, size_t offset, uint32_t value) {
  return size >= offset + 4 && LoadU32(head + offset) == value;
}

// DetectFormatIn: the layout and page size of a data file whose first `size` bytes are `head`; `label` names the file
// in messages.
Status DetectFormatIn(const uint8_t* head, size_t size, const std::string& label, const PageFormat** format_out,
                      uint32_t* page_size_out) {
  const PageFormat* format = nullptr;
  *format_out = nullptr;
  if (size == 0) return Status::NotLmdb("'" + label + "' is empty, not an LMDB data file");
  // 64-bit layouts: the meta follows a 24-byte (v2) or 16-byte (v1) page header. A 32-bit v2 build also has a
  // 16-byte header (32-bit page number and txnid), so the version tells the two apart; 32-bit v1 has 12 bytes.
  if (HasU32At(head, size, 24, kMetaMagic)) {
    if (size < 32) return Status::CorruptEnv("'" + label + "' is truncated inside meta page 0");
    uint32_t version = LoadU32(head + 28) & 0xffff;
    if (version != 2) {
      return Status::UnsupportedFormat(
          StringPrintf("LMDB data version %u with a 24-byte page header is not supported (expected 2)", version));
    }
    format = FormatForVersion(2);
  } else if (HasU32At(head, size, 16, kMetaMagic)) {
    if (size < 24) return Status::CorruptEnv("'" + label + "' is truncated inside meta page 0");
    uint32_t version = LoadU32(head + 20) & 0xffff;
    if (version == 2) {
      return Status::UnsupportedFormat("LMDB data version 2 written by a 32-bit build is not supported");
    }
    if (version != 1) {
      return Status::UnsupportedFormat(
          StringPrintf("LMDB data version %u with a 16-byte page header is not supported (expected 1)", version));
    }
    format = FormatForVersion(1);
  } else if (HasU32At(head, size, 12, kMetaMagic)) {
    return Status::UnsupportedFormat("LMDB data file written by a 32-bit build is not supported");
  } else if (HasU32At(head, size, 24, kMetaMagicSwapped) || HasU32At(head, size, 16, kMetaMagicSwapped) ||
             HasU32At(head, size, 12, kMetaMagicSwapped)) {
    return Status::UnsupportedFormat("big-endian LMDB data files are not supported");
  } else {
    return Status::NotLmdb("'" + label + "' is not an LMDB data file (no meta page magic)");
  }
  if (size < format->header_size + format->meta_size) {
    return Status::CorruptEnv(StringPrintf("data file is %zu bytes, too short to hold meta page 0", size));
  }
  uint32_t page_size = LoadU32(head + format->header_size + 24);
  if (!IsPowerOfTwo(page_size) || page_size < kMinPageSize || page_size > format->max_page_size) {
    return Status::UnsupportedFormat(StringPrintf("page size %u is not a power of two in %u..%u", page_size,
                                                  kMinPageSize, format->max_page_size));
  }
  *format_out = format;
  *page_size_out = page_size;
  return Status::Ok();
}

// DecodeMetaIn: decodes meta page `pgno` whose header starts at `bytes` (header + meta record in bounds).
Status DecodeMetaIn(const uint8_t* bytes, uint64_t pgno, const PageFormat& format, uint32_t page_size, Meta* out) {
  if (LoadU64(bytes) != pgno) {
    return Status::CorruptEnv(StringPrintf("meta page %" PRIu64 " has page number %" PRIu64 " in its header", pgno,
                                     LoadU64(bytes)));
  }
  uint16_t flags = LoadU16(bytes + PageFlagsOffset(format));
  if ((flags & kPageMeta) == 0) {
    return Status::CorruptEnv(StringPrintf("page %" PRIu64 " is not a meta page (flags 0x%x)", pgno, flags));
  }
  const uint8_t* meta = bytes + format.header_size;
  if (LoadU32(meta) != kMetaMagic) {
    return Status::CorruptEnv(StringPrintf("meta page %" PRIu64 " has no LMDB magic", pgno));
  }
  out->version = LoadU32(meta + 4);
  if ((out->version & 0xffff) != format.data_version) {
    return Status::CorruptEnv(StringPrintf("meta page %" PRIu64 " has data version %u, page 0 has %u", pgno,
                                     out->version & 0xffff, format.data_version));
  }
  out->map_size = LoadU64(meta + kMetaMapSizeOffset);
  out->free_db = DecodeDbRecord(meta + kMetaFreeDbOffset);
  out->main_db = DecodeDbRecord(meta + kMetaMainDbOffset);
  out->last_page = LoadU64(meta + kMetaLastPageOffset);
  out->txnid = LoadU64(meta + kMetaTxnidOffset);
  out->boot_id = format.data_version >= 2 ? LoadU64(meta + kMetaBootIdOffset) : 0;
  if (out->page_size() != page_size) {
    return Status::CorruptEnv(StringPrintf("meta page %" PRIu64 " has page size %u, page 0 has %u", pgno,
                                     out->page_size(), page_size));
  }
  return Status::Ok();
}

}  // namespace

Status PageReader::ValidateMeta(const Meta& meta, uint32_t page_size) {
  if (meta.txnid > kMaxSafeInteger || meta.map_size > kMaxSafeInteger) {
    return Status::CorruptEnv("current meta has a txnid or map size beyond 2^53");
  }
  // The last page must be addressable in 53 bits of bytes and leave room for the two metas.
  if (meta.last_page < 1 || meta.last_page > kMaxSafeInteger / page_size) {
    return Status::CorruptEnv(StringPrintf("current meta has last page %" PRIu64, meta.last_page));
  }
  std::string problem = DbRecordProblem(meta.main_db, meta.last_page);
  if (!problem.empty()) return Status::CorruptEnv("main database record: " + problem);
  problem = DbRecordProblem(meta.free_db, meta.last_page);
  if (!problem.empty()) return Status::CorruptEnv("free-list database record: " + problem);
  return Status::Ok();
}

Status PageReader::Open(const std::string& path, std::unique_ptr<PageReader>* out) {
  // O_NONBLOCK so that a FIFO or device given by mistake cannot block a pool thread in open(); it has no effect on
  // regular files, the only kind we go on to read.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::FromErrno(errno, "open", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return Status::FromErrno(err, "fstat", path);
  }
  std::string data_path = path;
  if (S_ISDIR(st.st_mode)) {
    // An env directory: its data file is data.mdb. openat keeps us on the directory we just checked.
    int dir_fd = fd;
    data_path = path + (path.empty() || path.back() != '/' ? "/" : "") + "data.mdb";
    fd = openat(dir_fd, "data.mdb", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    int err = errno;
    close(dir_fd);
    if (fd < 0) return Status::FromErrno(err, "open", data_path);
    if (fstat(fd, &st) != 0) {
      err = errno;
      close(fd);
      return Status::FromErrno(err, "fstat", data_path);
    }
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return Status::NotLmdb("'" + data_path + "' is not a regular file, so it cannot be an LMDB data file");
  }
  out->reset(new PageReader(fd, std::move(data_path)));
  (*out)->file_size_ = static_cast<uint64_t>(st.st_size);
  return Status::Ok();
}

PageReader::~PageReader() {
  if (fd_ >= 0) close(fd_);
}

Status PageReader::ReadFully(uint64_t offset, size_t length, uint8_t* dst, size_t* got) const {
  size_t done = 0;
  while (done < length) {
    ssize_t n = pread(fd_, dst + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "pread", data_path_);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  *got = done;
  return Status::Ok();
}

Status PageReader::ProbeHead(uint8_t* head, size_t* got, const PageFormat** format, uint32_t* page_size) {
  struct stat st;
  if (fstat(fd_, &st) != 0) return Status::FromErrno(errno, "fstat", data_path_);
  file_size_ = static_cast<uint64_t>(st.st_size);
  Status status = ReadFully(0, kHeadProbeSize, head, got);
  if (!status.ok()) return status;
  return DetectFormatIn(head, *got, data_path_, format, page_size);
}

Status PageReader::ReadMetas(MetaPair* out) {
  uint8_t head[kHeadProbeSize];
  size_t got = 0;
  Status status = ProbeHead(head, &got, &format_, &page_size_);
  if (!status.ok()) return status;

  const size_t meta_bytes = format_->header_size + format_->meta_size;
  uint8_t second[kHeadProbeSize];
  status = ReadFully(page_size_, meta_bytes, second, &got);
  if (!status.ok()) return status;
  if (got < meta_bytes) {
    return Status::CorruptEnv(StringPrintf("data file is %" PRIu64 " bytes and ends inside meta page 1 (page size %u)",
                                     file_size_, page_size_));
  }
  // Kept before decoding, so that a caller can tell a torn read (bytes changed since) from a persistent defect.
  out->raw.assign(reinterpret_cast<const char*>(head), meta_bytes);
  out->raw.append(reinterpret_cast<const char*>(second), meta_bytes);
  status = DecodeMetaIn(head, 0, *format_, page_size_, &out->metas[0]);
  if (!status.ok()) return status;
  status = DecodeMetaIn(second, 1, *format_, page_size_, &out->metas[1]);
  if (!status.ok()) return status;
  out->current = out->metas[1].txnid > out->metas[0].txnid ? 1 : 0;
  return ValidateMeta(out->current_meta(), page_size_);
}

bool PageReader::MetasChanged(const MetaPair& pair) const {
  if (pair.raw.empty()) return false;
  const size_t meta_bytes = pair.raw.size() / 2;
  std::string now(pair.raw.size(), '\0');
  uint8_t* dst = reinterpret_cast<uint8_t*>(&now[0]);
  size_t got0 = 0;
  size_t got1 = 0;
  if (!ReadFully(0, meta_bytes, dst, &got0).ok() || !ReadFully(page_size_, meta_bytes, dst + meta_bytes, &got1).ok())
    return true;
  return got0 != meta_bytes || got1 != meta_bytes || now != pair.raw;
}

Status PageReader::ReadPage(uint64_t pgno, const Meta& meta, std::vector<uint8_t>* page) const {
  if (pgno < 2 || pgno > meta.last_page) {
    return Status::CorruptEnv(
        StringPrintf("a tree refers to page %" PRIu64 ", outside the data pages 2..%" PRIu64, pgno, meta.last_page));
  }
  page->resize(page_size_);
  size_t got = 0;
  Status status = ReadFully(pgno * page_size_, page_size_, page->data(), &got);
  if (!status.ok()) return status;
  if (got < page_size_) {
    return Status::CorruptEnv(StringPrintf("page %" PRIu64 " lies beyond the end of the %" PRIu64
                                     "-byte data file (truncated?)", pgno, file_size_));
  }
  status = CheckHeader(pgno, meta, page->data());
  if (status.ok()) Decrypt(page->data(), page_size_);
  return status;
}

void PageReader::Decrypt(uint8_t* bytes, size_t size) const {
  // lmdb-js leaves the page number and txnid (the first 16 bytes) in clear and encrypts the rest with the page
  // number as nonce (chacha8.h). A page's first `size` bytes are the start of its run's stream.
  if (!has_key_ || size <= kEncryptedPrefix) return;
  ChaCha8Xor(key_.data(), bytes, 0, bytes + kEncryptedPrefix, size - kEncryptedPrefix);
}

void PageReader::SetDecryptionKey(const uint8_t* key) {
  std::memcpy(key_.data(), key, key_.size());
  has_key_ = true;
}

Status PageReader::CheckHeader(uint64_t pgno, const Meta& meta, const uint8_t* bytes) const {
  if (LoadU64(bytes) != pgno) {
    return Status::CorruptEnv(
        StringPrintf("page %" PRIu64 " has page number %" PRIu64 " in its header", pgno, LoadU64(bytes)));
  }
  if (format_->has_page_txnid && LoadU64(bytes + 8) > meta.txnid) {
    Status newer = Status::CorruptEnv(StringPrintf("page %" PRIu64 " was written by txn %" PRIu64
                                             ", newer than the snapshot's txn %" PRIu64, pgno, LoadU64(bytes + 8),
                                             meta.txnid));
    newer.MarkConcurrent();
    return newer;
  }
  return Status::Ok();
}

Status PageReader::ReadPageHeader(uint64_t pgno, const Meta& meta, uint8_t* header) const {
  if (pgno < 2 || pgno > meta.last_page) {
    return Status::CorruptEnv(
        StringPrintf("a tree refers to page %" PRIu64 ", outside the data pages 2..%" PRIu64, pgno, meta.last_page));
  }
  size_t got = 0;
  Status status = ReadFully(pgno * page_size_, format_->header_size, header, &got);
  if (!status.ok()) return status;
  if (got < format_->header_size) {
    return Status::CorruptEnv(StringPrintf("page %" PRIu64 " lies beyond the end of the %" PRIu64
                                     "-byte data file (truncated?)", pgno, file_size_));
  }
  status = CheckHeader(pgno, meta, header);
  if (status.ok()) Decrypt(header, format_->header_size);
  return status;
}

Status PageReader::ReadPages(uint64_t first, uint64_t count, const Meta& meta, uint8_t* dst) const {
  if (count == 0) return Status::Ok();
  if (first < 2 || first > meta.last_page || count > meta.last_page - first + 1) {
    return Status::CorruptEnv(StringPrintf("pages %" PRIu64 "+%" PRIu64 " lie outside the data pages 2..%" PRIu64,
                                           first, count, meta.last_page));
  }
  const size_t length = static_cast<size_t>(count * page_size_);
  size_t got = 0;
  Status status = ReadFully(first * page_size_, length, dst, &got);
  if (!status.ok()) return status;
  if (got < length) {
    return Status::CorruptEnv(StringPrintf("pages %" PRIu64 "..%" PRIu64 " run past the end of the data file at "
                                           "byte %" PRIu64 " (truncated?)", first, first + count - 1,
                                           first * page_size_ + got));
  }
  return Status::Ok();
}

void PageReader::Prefetch(const std::vector<std::pair<uint64_t, uint64_t>>& runs) const {
  for (const auto& run : runs) {
    posix_fadvise(fd_, static_cast<off_t>(run.first * page_size_), static_cast<off_t>(run.second * page_size_),
                  POSIX_FADV_WILLNEED);
  }
}

Status PageReader::ReadMetaPages(MetaPair* out, std::string* pages) {
  Status status = ReadMetas(out);
  if (!status.ok()) return status;
  pages->assign(static_cast<size_t>(page_size_) * 2, '\0');
  size_t got = 0;
  status = ReadFully(0, pages->size(), reinterpret_cast<uint8_t*>(&(*pages)[0]), &got);
  if (!status.ok()) return status;
  if (got < pages->size()) {
    return Status::CorruptEnv(StringPrintf("data file is %zu bytes, shorter than its two %u-byte meta pages", got,
                                           page_size_));
  }
  const size_t meta_bytes = out->raw.size() / 2;
  if (pages->compare(0, meta_bytes, out->raw, 0, meta_bytes) != 0 ||
      pages->compare(page_size_, meta_bytes, out->raw, meta_bytes, meta_bytes) != 0) {
    Status changed = Status::CorruptEnv("the meta pages changed while they were read (a commit landed)");
    changed.MarkConcurrent();
    return changed;
  }
  return Status::Ok();
}

Status PageReader::DecodeMetaPages(const uint8_t* pages, size_t size, const std::string& label, MetaPages* out) {
  Status status = DetectFormatIn(pages, size, label, &out->format, &out->page_size);
  if (!status.ok()) return status;
  if (size != static_cast<size_t>(out->page_size) * 2) {
    return Status::CorruptEnv(StringPrintf("expected the two %u-byte meta pages (%u bytes), got %zu bytes",
                                           out->page_size, out->page_size * 2, size));
  }
  status = DecodeMetaIn(pages, 0, *out->format, out->page_size, &out->metas[0]);
  if (!status.ok()) return status;
  return DecodeMetaIn(pages + out->page_size, 1, *out->format, out->page_size, &out->metas[1]);
}

Status PageReader::AdoptFormat(const PageFormat* format, uint32_t page_size) {
  uint8_t head[kHeadProbeSize];
  size_t got = 0;
  const PageFormat* on_disk = nullptr;
  uint32_t on_disk_page_size = 0;
  Status status = ProbeHead(head, &got, &on_disk, &on_disk_page_size);
  if (!status.ok()) return status;
  if (on_disk != format || on_disk_page_size != page_size) {
    return Status::CorruptEnv(StringPrintf("'%s' now has %s pages of %u bytes, not the %s pages of %u bytes its meta "
                                           "pages had", data_path_.c_str(), on_disk->description, on_disk_page_size,
                                           format->description, page_size));
  }
  format_ = format;
  page_size_ = page_size;
  return Status::Ok();
}

Status PageNodeOffsets(const PageFormat& format, uint64_t pgno, const uint8_t* bytes, size_t size,
                       std::vector<size_t>* offsets) {
  const size_t header = format.header_size;
  const size_t base = format.page_base;
  const size_t lower = LoadU16(bytes + PageLowerOffset(format));
  const size_t upper = LoadU16(bytes + PageUpperOffset(format));
  // mp_lower counts from PAGEBASE; the slot array starts right after the header.
  const size_t slots_start = header - base;
  if (lower < slots_start || (lower - slots_start) % 2 != 0 || upper < lower || base + upper > size) {
    return Status::CorruptEnv(StringPrintf("page %" PRIu64 " has free-space bounds lower=%zu upper=%zu", pgno,
                                           lower, upper));
  }
  const size_t count = (lower - slots_start) / 2;
  offsets->clear();
  offsets->reserve(count);
  for (size_t i = 0; i < count; ++i) {
    // Slot i sits at header + 2i, which is < base + lower <= size (checked above).
    const size_t node = base + LoadU16(bytes + header + 2 * i);
    if (node < base + upper || node % 2 != 0 || node + kNodeHeaderSize > size) {
      return Status::CorruptEnv(
          StringPrintf("page %" PRIu64 " slot %zu points to offset %zu outside its node area", pgno, i, node));
    }
    offsets->push_back(node);
  }
  return Status::Ok();
}

}  // namespace pagevault
