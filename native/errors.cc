// errors.cc: errno classification and Status -> JS Error conversion (contract in errors.h).

#include "errors.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace pagevault {

namespace {

// ErrnoName: 'ENOENT' for ENOENT. glibc has strerrorname_np (2.32+); elsewhere fall back to the number.
std::string ErrnoName(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
#endif
  return "E" + std::to_string(err);
}

// ErrnoText: thread-safe strerror (the pool runs several workers at once).
std::string ErrnoText(int err) {
  char buffer[256] = {0};
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
  return strerror_r(err, buffer, sizeof(buffer));  // GNU variant: returns the message pointer
#else
  if (strerror_r(err, buffer, sizeof(buffer)) != 0) return "error " + std::to_string(err);
  return buffer;
#endif
}

}  // namespace

Status Status::FromErrno(int err, const char* syscall, const std::string& path) {
  ErrorKind kind = (err == ENOENT || err == ENOTDIR) ? ErrorKind::kNotFound : ErrorKind::kIo;
  std::string message = ErrnoName(err) + ": " + ErrnoText(err) + ", " + syscall + " '" + path + "'";
  Status status(kind, std::move(message));
  status.errno_ = err;
  status.syscall_ = syscall;
  status.path_ = path;
  return status;
}

const char* ErrorCodeFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kOk:
      return "";
    case ErrorKind::kNotFound:
      return "PAGEVAULT_ERR_NOT_FOUND";
    case ErrorKind::kNotLmdb:
      return "PAGEVAULT_ERR_NOT_LMDB";
    case ErrorKind::kUnsupportedFormat:
      return "PAGEVAULT_ERR_UNSUPPORTED_FORMAT";
    case ErrorKind::kCorruptEnv:
      return "PAGEVAULT_ERR_CORRUPT_ENV";
    case ErrorKind::kIo:
      return "PAGEVAULT_ERR_IO";
    case ErrorKind::kIncrementalUnavailable:
      return "PAGEVAULT_ERR_INCREMENTAL_UNAVAILABLE";
    case ErrorKind::kAborted:
      return "PAGEVAULT_ERR_ABORTED";
    case ErrorKind::kWrongKey:
      return "PAGEVAULT_ERR_WRONG_KEY";
  }
  return "PAGEVAULT_ERR_IO";
}

Napi::Error MakeJsError(Napi::Env env, const Status& status) {
  Napi::Error error = Napi::Error::New(env, status.message());
  Napi::Object object = error.Value();
  object.Set("code", Napi::String::New(env, ErrorCodeFor(status.kind())));
  if (status.sys_errno() != 0) {
    object.Set("errno", Napi::Number::New(env, -status.sys_errno()));
    object.Set("errnoCode", Napi::String::New(env, ErrnoName(status.sys_errno())));
    object.Set("syscall", Napi::String::New(env, status.syscall()));
    object.Set("path", Napi::String::New(env, status.path()));
  }
  return error;
}

}  // namespace pagevault
