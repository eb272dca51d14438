// page_reader.h: PageReader, a pread-based reader of an LMDB data file (data.mdb). It links no LMDB and never
// opens lock.mdb (LMDB-INTERNALS.md §0 and §3.4): opening the lock file in a process where lmdb-js has the env
// open would wipe lmdb-js's reader table. It never maps the file either, so a file truncated underneath us gives a
// short read (an error), never SIGBUS.
//
// Threading: a PageReader is used by one thread at a time (an AsyncWorker's Execute). All methods block on I/O;
// never call them on the JS thread.

#ifndef PAGEVAULT_NATIVE_PAGE_READER_H_
#define PAGEVAULT_NATIVE_PAGE_READER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
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

// MetaPages: pages 0 and 1 decoded from bytes (PageReader::DecodeMetaPages): the layout, the page size and both
// metas, neither validated beyond decoding.
struct MetaPages {
  const PageFormat* format = nullptr;
  uint32_t page_size = 0;
  Meta metas[2];
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

  // ReadMetaPages: ReadMetas, then the complete bytes of pages 0 and 1 into `*pages` (2 x page size), checked to
  // hold the same header and meta bytes as `out->raw`: a commit landing between the reads gives kCorruptEnv marked
  // concurrent (retry). Bytes outside the two meta records (lmdb-js's flushed meta at page 0 + page size / 2, which
  // its sync thread rewrites at any time) are copied as they are and not compared.
  Status ReadMetaPages(MetaPair* out, std::string* pages);

  // DecodeMetaPages: decodes pages 0 and 1 from `pages` (exactly 2 x page size bytes, as ReadMetaPages returns
  // them) without any I/O: detects the layout, decodes both metas and checks they agree on it. `label` names the
  // file in messages. Neither meta is validated beyond decoding; call ValidateMeta on the one you use.
  static Status DecodeMetaPages(const uint8_t* pages, size_t size, const std::string& label, MetaPages* out);

  // ValidateMeta: kCorruptEnv unless `meta` is usable as a snapshot's meta: txnid, map size and last page below 2^53
  // (in bytes for the last page), and plausible main and free-list records (DbRecordProblem).
  static Status ValidateMeta(const Meta& meta, uint32_t page_size);

  // AdoptFormat: makes this reader use `format` and `page_size` (decoded from meta bytes read earlier, e.g. under
  // lmdb-js's write lock) instead of the metas now on disk, after checking that the file's page 0 still has that
  // layout; refreshes file_size(). The metas on disk may be newer than the snapshot being read: that is expected.
  Status AdoptFormat(const PageFormat* format, uint32_t page_size);

  // MetasChanged: true when the meta bytes on disk differ from a non-empty `pair.raw` (a commit landed since
  // ReadMetas), or when they cannot be read again. False when `pair.raw` is empty (the metas were never read).
  bool MetasChanged(const MetaPair& pair) const;

  // SetDecryptionKey: the 32 bytes of an lmdb-js `encryptionKey`; from then on ReadPage and ReadPageHeader return
  // pages decrypted (ReadPages keeps returning the bytes as stored). A wrong key is not detected here: the caller
  // checks a page it knows (the main tree's root) for a plausible header.
  void SetDecryptionKey(const uint8_t* key);
  bool has_key() const { return has_key_; }

  // ReadPage: reads tree page `pgno` of the snapshot described by `meta` into `*page` (resized to the page size),
  // after checking 2 <= pgno <= meta.last_page, that the file holds the whole page, that the header's page number
  // equals `pgno`, and (v2) that the page's txnid is not newer than the meta's (that failure is MarkConcurrent).
  // With a decryption key, the page is decrypted (the page number and txnid are in clear either way).
  Status ReadPage(uint64_t pgno, const Meta& meta, std::vector<uint8_t>* page) const;

  // ReadPageHeader: ReadPage's checks, reading only the page header (format().header_size bytes) into `header`.
  Status ReadPageHeader(uint64_t pgno, const Meta& meta, uint8_t* header) const;

  // ReadPages: reads pages first .. first + count - 1 into `dst` (count x page size bytes) as raw bytes, without
  // header checks (overflow continuation pages and encrypted pages have no readable header). kCorruptEnv when the
  // range leaves 2..meta.last_page or the file ends inside it. One pread loop: call it with long runs.
  Status ReadPages(uint64_t first, uint64_t count, const Meta& meta, uint8_t* dst) const;

  // Prefetch: asks the kernel to start reading `runs` (page ranges) in the background (posix_fadvise WILLNEED), so
  // that the reads that follow find them cached; lets a tree walk keep many reads in flight on a cold cache.
  // Advisory only: errors are ignored.
  void Prefetch(const std::vector<std::pair<uint64_t, uint64_t>>& runs) const;

  // Only valid after a successful ReadMetas or AdoptFormat.
  const PageFormat& format() const { return *format_; }
  uint32_t page_size() const { return page_size_; }

  uint64_t file_size() const { return file_size_; }
  const std::string& data_path() const { return data_path_; }

 private:
  PageReader(int fd, std::string data_path) : fd_(fd), data_path_(std::move(data_path)) {}

  // ProbeHead: re-reads the file size and the first kHeadProbeSize bytes into `head` (`*got` of them), and detects
  // the format and page size they show. Shared by ReadMetas and AdoptFormat.
  Status ProbeHead(uint8_t* head, size_t* got, const PageFormat** format, uint32_t* page_size);

  // ReadFully: reads up to `length` bytes at `offset`, retrying EINTR and short reads; `*got` < length means EOF.
  Status ReadFully(uint64_t offset, size_t length, uint8_t* dst, size_t* got) const;
  // CheckHeader: the page-number and txnid checks of ReadPage on a header already read.
  Status CheckHeader(uint64_t pgno, const Meta& meta, const uint8_t* header) const;
  // Decrypt: with a key, decrypts bytes 16..size of a page read from its start, in place; without, nothing.
  void Decrypt(uint8_t* bytes, size_t size) const;

  static constexpr size_t kEncryptedPrefix = 16;  // page number and txnid stay in clear
  std::array<uint8_t, 32> key_{};
  bool has_key_ = false;

  int fd_ = -1;
  std::string data_path_;
  uint64_t file_size_ = 0;
  const PageFormat* format_ = nullptr;
  uint32_t page_size_ = 0;
};

// PageNodeOffsets: validates mp_lower/mp_upper of a page (or a dupSort sub-page) of `size` bytes at `bytes` and
// lists the byte offset of every node on it, each checked to lie inside the node area. Shared by every tree walker.
Status PageNodeOffsets(const PageFormat& format, uint64_t pgno, const uint8_t* bytes, size_t size,
                       std::vector<size_t>* offsets);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_PAGE_READER_H_
