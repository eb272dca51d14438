// page_reader.h: PageReader, a pread-based reader of an LMDB data file (data.mdb). It links no LMDB and never
// opens lock.mdb (LMDB-INTERNALS.md §0 and §3.4): opening the lock file in a process where lmdb-js has the env
// open would wipe lmdb-js's reader table. It never maps the file either, so a file truncated underneath us gives a
// short read (an error), never SIGBUS.
//
// Threading: a PageReader is used by one thread at a time (an AsyncWorker's Execute). All methods block on I/O;
// never call them on the JS thread.

#ifndef PAGEVAULT_NATIVE_PAGE_READER_H_
#define PAGEVAULT_NATIVE_PAGE_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "errors.h"
#include "format.h"

namespace pagevault {

// MetaPair: both meta pages as read together, and which one is current (the larger txnid; LMDB's rule).
struct MetaPair {
  Meta metas[2];
  int current = 0;
  std::string raw;  // the bytes both metas were decoded from, to detect a concurrent commit (MetasChanged)
  const Meta& current_meta() const { return metas[current]; }
};

// PageReader: owns one read-only file descriptor of a data file; closes it on destruction.
class PageReader {
 public:
  // Open: opens `path` read-only. A directory means `<path>/data.mdb`; anything else is taken as the data file
  // itself (a noSubdir env). Fails with kNotFound / kIo (errno), or kNotLmdb for something that is not a regular
  // file. On success `*out` owns the descriptor.
  static Status Open(const std::string& path, std::unique_ptr<PageReader>* out);

  ~PageReader();
  PageReader(const PageReader&) = delete;
  PageReader& operator=(const PageReader&) = delete;

  // ReadMetas: re-reads the file size, detects the format from page 0, then reads and validates both meta pages.
  // kNotLmdb when no magic is found, kUnsupportedFormat for layouts this reader does not handle, kCorruptEnv when
  // a meta page is malformed or the file is too short to hold it. `out->raw` is filled as soon as both metas were
  // read, even when decoding them then fails.
  Status ReadMetas(MetaPair* out);

  // MetasChanged: true when the meta bytes on disk differ from a non-empty `pair.raw` (a commit landed since
  // ReadMetas), or when they cannot be read again. False when `pair.raw` is empty (the metas were never read).
  bool MetasChanged(const MetaPair& pair) const;

  // ReadPage: reads tree page `pgno` of the snapshot described by `meta` into `*page` (resized to the page size),
  // after checking 2 <= pgno <= meta.last_page, that the file holds the whole page, that the header's page number
  // equals `pgno`, and (v2) that the page's txnid is not newer than the meta's (that failure is MarkConcurrent).
  Status ReadPage(uint64_t pgno, const Meta& meta, std::vector<uint8_t>* page) const;

  // Only valid after a successful ReadMetas.
  const PageFormat& format() const { return *format_; }
  uint32_t page_size() const { return page_size_; }

  uint64_t file_size() const { return file_size_; }
  const std::string& data_path() const { return data_path_; }

 private:
  PageReader(int fd, std::string data_path) : fd_(fd), data_path_(std::move(data_path)) {}

  // ReadFully: reads up to `length` bytes at `offset`, retrying EINTR and short reads; `*got` < length means EOF.
  Status ReadFully(uint64_t offset, size_t length, uint8_t* dst, size_t* got) const;
  Status DetectFormat(const uint8_t* head, size_t size);
  Status DecodeMeta(const uint8_t* bytes, uint64_t pgno, Meta* out) const;
  Status ValidateCurrentMeta(const Meta& meta) const;

  int fd_ = -1;
  std::string data_path_;
  uint64_t file_size_ = 0;
  const PageFormat* format_ = nullptr;
  uint32_t page_size_ = 0;
};

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_PAGE_READER_H_
