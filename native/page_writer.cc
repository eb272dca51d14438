// page_writer.cc: see page_writer.h.

#include "page_writer.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pagevault {

namespace {

class WriteRunsWorker : public Napi::AsyncWorker {
 public:
  WriteRunsWorker(Napi::Env env, int fd, std::vector<double> runs, Napi::Buffer<uint8_t> data, uint32_t page_size)
      : Napi::AsyncWorker(env, "pagevault:writeRuns"),
        deferred_(Napi::Promise::Deferred::New(env)),
        fd_(fd),
        runs_(std::move(runs)),
        bytes_(data.Data()),
        page_size_(page_size) {
    data_ref_ = Napi::Persistent(data.As<Napi::Object>());
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    size_t offset = 0;
    for (size_t i = 0; i + 1 < runs_.size(); i += 2) {
      const uint64_t pgno = static_cast<uint64_t>(runs_[i]);
      const size_t length = static_cast<size_t>(runs_[i + 1]) * page_size_;
      size_t done = 0;
      while (done < length) {
        const ssize_t n = pwrite(fd_, bytes_ + offset + done, length - done,
                                 static_cast<off_t>(pgno * page_size_ + done));
        if (n < 0) {
          if (errno == EINTR) continue;
          err_ = errno;
          return;
        }
        done += static_cast<size_t>(n);
      }
      offset += length;
    }
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
  std::vector<double> runs_;
  const uint8_t* bytes_;
  uint32_t page_size_;
  Napi::ObjectReference data_ref_;  // keeps `data` alive while Execute reads it
  int err_ = 0;
};

}  // namespace

Napi::Value JsWriteRuns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsBuffer() || !info[3].IsNumber()) {
    Napi::TypeError::New(env, "Expected (fd, runs: Float64Array, data: Buffer, pageSize)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::TypedArray typed = info[1].As<Napi::TypedArray>();
  Napi::Buffer<uint8_t> data = info[2].As<Napi::Buffer<uint8_t>>();
  const uint32_t page_size = info[3].As<Napi::Number>().Uint32Value();
  if (typed.TypedArrayType() != napi_float64_array || typed.ElementLength() % 2 != 0 || fd < 0 || page_size < 512 ||
      page_size > 65536 || (page_size & (page_size - 1)) != 0) {
    Napi::RangeError::New(env, "writeRuns: bad fd, runs or page size").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Float64Array runs_array = typed.As<Napi::Float64Array>();
  std::vector<double> runs(runs_array.Data(), runs_array.Data() + runs_array.ElementLength());
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
  if (total != data.Length()) {
    Napi::RangeError::New(env, "writeRuns: data length does not match the runs").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  WriteRunsWorker* worker = new WriteRunsWorker(env, fd, std::move(runs), data, page_size);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace pagevault
