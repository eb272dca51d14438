// errors.h: Status, the plain C++ failure value the page reader returns, and its conversion to a JS Error.
//
// Status is built on libuv pool threads (AsyncWorker::Execute) and turned into a JS Error only on the JS thread
// (OnOK). The JS Error carries a stable `code` (PAGEVAULT_ERR_*, the same strings as ErrorCodes in src/errors.ts)
// and, for operating-system failures, `errno` (negative, libuv style like Node's fs errors), `errnoCode`
// ('ENOENT' ...), `syscall` and `path`. src/native/binding.ts converts it into the matching PagevaultError.

#ifndef PAGEVAULT_NATIVE_ERRORS_H_
#define PAGEVAULT_NATIVE_ERRORS_H_

#include <napi.h>

#include <string>

namespace pagevault {

// ErrorKind: the failure classes; each maps to exactly one JS `code` (see ErrorCodeFor).
enum class ErrorKind {
  kOk,
  kNotFound,           // PAGEVAULT_ERR_NOT_FOUND: ENOENT / ENOTDIR on the path or its data.mdb, a missing database
  kNotLmdb,            // PAGEVAULT_ERR_NOT_LMDB: no meta magic where any known layout puts it
  kUnsupportedFormat,  // PAGEVAULT_ERR_UNSUPPORTED_FORMAT: unknown version, 32-bit or big-endian, bad page size
  kCorruptEnv,         // PAGEVAULT_ERR_CORRUPT_ENV: a structural check failed
  kIo,                 // PAGEVAULT_ERR_IO: any other errno
  kIncrementalUnavailable,  // PAGEVAULT_ERR_INCREMENTAL_UNAVAILABLE: no page txnids (data v1) or encrypted pages
  kAborted,            // PAGEVAULT_ERR_ABORTED: the work was cancelled (handle closed, env teardown)
  kWrongKey,           // PAGEVAULT_ERR_WRONG_KEY: the database key given does not decrypt its pages
};

// Status: success, or one failure with a human message. Copyable, no JS handles: safe to build off the JS thread.
class Status {
 public:
  Status() = default;

  static Status Ok() { return Status(); }
  static Status NotLmdb(std::string message) { return Status(ErrorKind::kNotLmdb, std::move(message)); }
  // NotFound: something named by the caller (e.g. a database in a snapshot) does not exist; no errno.
  static Status NotFound(std::string message) { return Status(ErrorKind::kNotFound, std::move(message)); }
  static Status UnsupportedFormat(std::string message) {
    return Status(ErrorKind::kUnsupportedFormat, std::move(message));
  }
  static Status CorruptEnv(std::string message) { return Status(ErrorKind::kCorruptEnv, std::move(message)); }
  static Status IncrementalUnavailable(std::string message) {
    return Status(ErrorKind::kIncrementalUnavailable, std::move(message));
  }
  static Status Aborted(std::string message) { return Status(ErrorKind::kAborted, std::move(message)); }
  static Status WrongKey(std::string message) { return Status(ErrorKind::kWrongKey, std::move(message)); }
  // FromErrno: ENOENT and ENOTDIR become kNotFound, everything else kIo; the message names the call and path.
  static Status FromErrno(int err, const char* syscall, const std::string& path);

  // MarkConcurrent: flags a structural failure that a concurrent writer can explain (a page newer than the meta);
  // the caller may retry the read from fresh meta pages.
  Status& MarkConcurrent() {
    concurrent_ = true;
    return *this;
  }

  // AddContext: prefixes the message with `context` and ": " (which tree, which database), keeping everything else.
  Status& AddContext(const std::string& context) {
    message_ = context + ": " + message_;
    return *this;
  }

  bool ok() const { return kind_ == ErrorKind::kOk; }
  bool concurrent() const { return concurrent_; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  int sys_errno() const { return errno_; }
  const std::string& syscall() const { return syscall_; }
  const std::string& path() const { return path_; }

 private:
  Status(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}

  ErrorKind kind_ = ErrorKind::kOk;
  std::string message_;
  int errno_ = 0;
  std::string syscall_;
  std::string path_;
  bool concurrent_ = false;
};

// ErrorCodeFor: the stable JS code string of `kind` (empty for kOk).
const char* ErrorCodeFor(ErrorKind kind);

// MakeJsError: builds the JS Error for a failed `status`. JS thread only.
Napi::Error MakeJsError(Napi::Env env, const Status& status);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_ERRORS_H_
