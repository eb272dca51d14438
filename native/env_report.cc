// env_report.cc: see env_report.h.

#include "env_report.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "page_reader.h"

namespace pagevault {

namespace {

// Attempts before a failure that a concurrent commit could explain is reported; back-off 1, 2, 4, 8, 8 ... ms.
constexpr int kMaxAttempts = 8;
constexpr int kMaxBackoffMs = 8;

}  // namespace

Status BuildEnvReport(const std::string& path, EnvReport* out) {
  std::unique_ptr<PageReader> reader;
  Status status = PageReader::Open(path, &reader);
  if (!status.ok()) return status;

  for (int attempt = 1;; ++attempt) {
    MetaPair metas;
    status = reader->ReadMetas(&metas);
    if (status.ok()) {
      const Meta& meta = metas.current_meta();
      out->data_path = reader->data_path();
      out->file_size = reader->file_size();
      out->format = &reader->format();
      out->page_size = reader->page_size();
      out->meta = meta;
      out->meta_slot = metas.current;
      out->encrypted = (meta.env_flags() & kEnvFlagEncrypted) != 0;
      out->named_dbs.clear();
      if (out->encrypted) return Status::Ok();
      status = MainTreeWalker(*reader, meta).ListNamedDatabases(&out->named_dbs);
      if (status.ok()) return status;
    }
    // Retry only what a concurrent commit explains: the metas changed since we read them (a torn meta read, or
    // pages recycled under the walk), or a page newer than the meta. A defect in a quiet file fails at once.
    if (status.kind() != ErrorKind::kCorruptEnv || attempt >= kMaxAttempts) return status;
    if (!status.concurrent() && !reader->MetasChanged(metas)) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1 << (attempt - 1), kMaxBackoffMs)));
  }
}

}  // namespace pagevault
