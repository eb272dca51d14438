// page_writer.cc: see page_writer.h.

#include "page_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pagevault {

namespace {

// Runs at least this long go through the O_DIRECT descriptor when one is given (see page_writer.h).
constexpr size_t kDirectRunBytes = 64 * 1024;
// The bounce buffer direct writes go through: aligned, one per libuv thread, allocated (and touched) once.
constexpr size_t kBounceBytes = 4 * 1024 * 1024;
constexpr size_t kDirectAlign = 4096;

uint8_t* BounceBuffer() {
  struct Holder {
    uint8_t* bytes = nullptr;
    ~Holder() { free(bytes); }
  };
  thread_local Holder holder;
  if (holder.bytes == nullptr) holder.bytes = static_cast<uint8_t*>(aligned_alloc(kDirectAlign, kBounceBytes));
  return holder.bytes;
}

class WriteRunsWorker : public Napi::AsyncWorker {
 public:
  // `sources[i]` points at the pages of run i; `data` (a Buffer or an array of Buffers) owns them.
  WriteRunsWorker(Napi::Env env, int fd, int direct_fd, std::vector<double> runs, std::vector<const uint8_t*> sources,
                  Napi::Object data, uint32_t page_size)
      : Napi::AsyncWorker(env, "pagevault:writeRuns"),
        deferred_(Napi::Promise::Deferred::New(env)),
        fd_(fd),
        direct_fd_(direct_fd),
        runs_(std::move(runs)),
        sources_(std::move(sources)),
        page_size_(page_size) {
    data_ref_ = Napi::Persistent(data);
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    for (size_t i = 0; i + 1 < runs_.size(); i += 2) {
      const uint64_t offset = static_cast<uint64_t>(runs_[i]) * page_size_;
      const size_t length = static_cast<size_t>(runs_[i + 1]) * page_size_;
      const uint8_t* bytes = sources_[i / 2];
      if (direct_fd_ >= 0 && length >= kDirectRunBytes && offset % kDirectAlign == 0 && length % kDirectAlign == 0) {
        if (WriteDirect(bytes, length, offset)) continue;
        if (err_ != 0) return;
        direct_fd_ = -1;  // the file system refused direct I/O: buffered from here on
      }
      if (!WriteAll(fd_, bytes, length, offset)) return;
    }
  }

  // WriteDirect: the run through the bounce buffer and the O_DIRECT descriptor. False with err_ unset when the
  // file system refuses direct I/O for it (EINVAL), false with err_ set on a real failure.
  bool WriteDirect(const uint8_t* bytes, size_t length, uint64_t offset) {
    uint8_t* bounce = BounceBuffer();
    if (bounce == nullptr) return false;
    for (size_t done = 0; done < length;) {
      const size_t piece = length - done < kBounceBytes ? length - done : kBounceBytes;
      memcpy(bounce, bytes + done, piece);
      size_t written = 0;
      while (written < piece) {
        const ssize_t n = pwrite(direct_fd_, bounce + written, piece - written, static_cast<off_t>(offset + done + written));
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno == EINVAL && done == 0 && written == 0) return false;
          err_ = errno;
          return false;
        }
        written += static_cast<size_t>(n);
      }
      done += piece;
    }
    return true;
  }

  bool WriteAll(int fd, const uint8_t* bytes, size_t length, uint64_t offset) {
    size_t done = 0;
    while (done < length) {
      const ssize_t n = pwrite(fd, bytes + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        err_ = errno;
        return false;
      }
      done += static_cast<size_t>(n);
    }
    return true;
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (err_ == 0) {
      deferred_.Resolve(env.Undefined());
      return;
    }
    Napi::Error error = Napi::Error::New(env, std::string("pwrite: ") + strerror(err_));
    error.Set("errno", Napi::Number::New(env, -err_));
    error.Set("syscall", Napi::String::New(env, "pwrite"));
    deferred_.Reject(error.Value());
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  int direct_fd_;
  std::vector<double> runs_;
  std::vector<const uint8_t*> sources_;
  uint32_t page_size_;
  Napi::ObjectReference data_ref_;  // keeps the buffers alive while Execute reads them
  int err_ = 0;
};

class PreallocateWorker : public Napi::AsyncWorker {
 public:
  PreallocateWorker(Napi::Env env, int fd, off_t offset, off_t length, bool keep_size)
      : Napi::AsyncWorker(env, "pagevault:preallocate"),
        deferred_(Napi::Promise::Deferred::New(env)),
        fd_(fd),
        offset_(offset),
        length_(length),
        keep_size_(keep_size) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
#ifdef __linux__
    const int mode = keep_size_ ? FALLOC_FL_KEEP_SIZE : 0;
    while (fallocate(fd_, mode, offset_, length_) != 0) {
      if (errno == EINTR) continue;
      // A file system without fallocate: the writes allocate as they go, as they would have anyway.
      if (errno == EOPNOTSUPP || errno == ENOSYS) return;
      err_ = errno;
      return;
    }
    allocated_ = true;
#endif
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (err_ == 0) {
      deferred_.Resolve(Napi::Boolean::New(env, allocated_));
      return;
    }
    Napi::Error error = Napi::Error::New(env, std::string("fallocate: ") + strerror(err_));
    error.Set("errno", Napi::Number::New(env, -err_));
    error.Set("syscall", Napi::String::New(env, "fallocate"));
    if (err_ == ENOSPC) error.Set("code", Napi::String::New(env, "ENOSPC"));
    deferred_.Reject(error.Value());
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  off_t offset_;
  off_t length_;
  bool keep_size_;
  bool allocated_ = false;
  int err_ = 0;
};

}  // namespace

Napi::Value JsWriteRuns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsTypedArray() || !(info[2].IsBuffer() || info[2].IsArray()) ||
      !info[3].IsNumber()) {
    Napi::TypeError::New(env, "Expected (fd, runs: Float64Array, data: Buffer | Buffer[], pageSize)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::TypedArray typed = info[1].As<Napi::TypedArray>();
  const uint32_t page_size = info[3].As<Napi::Number>().Uint32Value();
  if (typed.TypedArrayType() != napi_float64_array || typed.ElementLength() % 2 != 0 || fd < 0 || page_size < 512 ||
      page_size > 65536 || (page_size & (page_size - 1)) != 0) {
    Napi::RangeError::New(env, "writeRuns: bad fd, runs or page size").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Float64Array runs_array = typed.As<Napi::Float64Array>();
  std::vector<double> runs(runs_array.Data(), runs_array.Data() + runs_array.ElementLength());
  const size_t run_count = runs.size() / 2;
  uint64_t total = 0;
  for (size_t i = 0; i < runs.size(); i += 2) {
    const double pgno = runs[i];
    const double count = runs[i + 1];
    // Page numbers and counts are whole, >= 2 and >= 1, and small enough that offsets stay exact.
    if (pgno < 2 || count < 1 || pgno != static_cast<double>(static_cast<uint64_t>(pgno)) ||
        count != static_cast<double>(static_cast<uint64_t>(count)) || pgno > 9007199254740991.0 / page_size) {
      Napi::RangeError::New(env, "writeRuns: bad run").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    total += static_cast<uint64_t>(count) * page_size;
  }
  std::vector<const uint8_t*> sources(run_count);
  if (info[2].IsBuffer()) {
    // One buffer: the runs' pages back to back.
    Napi::Buffer<uint8_t> data = info[2].As<Napi::Buffer<uint8_t>>();
    if (total != data.Length()) {
      Napi::RangeError::New(env, "writeRuns: data length does not match the runs").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    size_t offset = 0;
    for (size_t r = 0; r < run_count; r++) {
      sources[r] = data.Data() + offset;
      offset += static_cast<size_t>(runs[2 * r + 1]) * page_size;
    }
  } else {
    // One buffer per run, each exactly that run's pages: a restore writes straight from its decoded chunks.
    Napi::Array list = info[2].As<Napi::Array>();
    if (list.Length() != run_count) {
      Napi::RangeError::New(env, "writeRuns: expected one buffer per run").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    for (uint32_t r = 0; r < run_count; r++) {
      Napi::Value item = list.Get(r);
      if (!item.IsBuffer() ||
          item.As<Napi::Buffer<uint8_t>>().Length() != static_cast<size_t>(runs[2 * r + 1]) * page_size) {
        Napi::RangeError::New(env, "writeRuns: a run's buffer does not hold exactly its pages").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      sources[r] = item.As<Napi::Buffer<uint8_t>>().Data();
    }
  }
  int direct_fd = -1;
  if (info.Length() > 4 && info[4].IsNumber()) direct_fd = info[4].As<Napi::Number>().Int32Value();
  WriteRunsWorker* worker = new WriteRunsWorker(env, fd, direct_fd, std::move(runs), std::move(sources),
                                                info[2].As<Napi::Object>(), page_size);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value JsPreallocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsBoolean()) {
    Napi::TypeError::New(env, "Expected (fd, offset, length, keepSize)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const double offset = info[1].As<Napi::Number>().DoubleValue();
  const double length = info[2].As<Napi::Number>().DoubleValue();
  if (fd < 0 || offset < 0 || length <= 0 || offset != static_cast<double>(static_cast<int64_t>(offset)) ||
      length != static_cast<double>(static_cast<int64_t>(length)) || offset + length > 9007199254740991.0) {
    Napi::RangeError::New(env, "preallocate: bad fd, offset or length").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  PreallocateWorker* worker = new PreallocateWorker(env, fd, static_cast<off_t>(offset), static_cast<off_t>(length),
                                                    info[3].As<Napi::Boolean>().Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace pagevault
