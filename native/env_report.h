// env_report.h: EnvReport, everything envInfo() tells about an environment, and BuildEnvReport, which reads it.

#ifndef PAGEVAULT_NATIVE_ENV_REPORT_H_
#define PAGEVAULT_NATIVE_ENV_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "errors.h"
#include "format.h"
#include "main_tree.h"

namespace pagevault {

// EnvReport: one consistent view of an environment: the current meta and, unless the env is encrypted, its named
// databases as of that meta's transaction.
struct EnvReport {
  std::string data_path;
  uint64_t file_size = 0;
  const PageFormat* format = nullptr;
  uint32_t page_size = 0;
  Meta meta;              // the current meta (larger txnid)
  int meta_slot = 0;      // which meta page it came from: 0 or 1
  bool encrypted = false; // mm_flags has kEnvFlagEncrypted: tree pages are ciphertext and were not walked
  std::vector<NamedDb> named_dbs;
};

// BuildEnvReport: opens `path` (env directory or data file), reads the metas and walks the main tree.
//
// Blocking; call from a pool thread. It does not pin a snapshot (no lock file, no LMDB): if a writer commits while
// it walks, pages of the meta it read can be recycled under it. A structural failure is therefore retried from
// fresh metas (with a short back-off) when the meta pages changed meanwhile or a page is newer than the meta; it is
// reported as kCorruptEnv only when it persists. Callers that need a pinned view hold an lmdb-js read transaction.
Status BuildEnvReport(const std::string& path, EnvReport* out);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_ENV_REPORT_H_
