// encode_doc_lines.cc: see encode_doc_lines.h. The resolved object's shape is EncodedDocLines in
// src/native/binding.ts.

#include "encode_doc_lines.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "doc_encoder.h"
#include "json_out.h"

namespace pagevault {

namespace {

constexpr size_t kMaxOffset = 0xffffffffu;

template <typename T, typename Array>
Array CopyToJs(Napi::Env env, const std::vector<T>& values) {
  Array array = Array::New(env, values.size());
  if (!values.empty() && !array.IsEmpty()) std::memcpy(array.Data(), values.data(), values.size() * sizeof(T));
  return array;
}

class EncodeDocLinesWorker : public Napi::AsyncWorker {
 public:
  EncodeDocLinesWorker(Napi::Env env, Napi::Buffer<uint8_t> lines)
      : Napi::AsyncWorker(env, "pagevault:encodeDocLines"),
        deferred_(Napi::Promise::Deferred::New(env)),
        bytes_(lines.Data()),
        size_(lines.Length()) {
    lines_ref_ = Napi::Persistent(lines.As<Napi::Object>());
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    DocEncoder encoder;
    // Keys and values are a little smaller than their JSON text in typical documents (about 0.8 of it for the
    // generated datasets); reserving the input size avoids growing the block, and the sink grows if it must.
    data_.Reserve(size_ + 64);
    size_t pos = 0;
    while (pos < size_) {
      const void* nl = std::memchr(bytes_ + pos, '\n', size_ - pos);
      const size_t end = nl != nullptr ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - bytes_) : size_;
      line_offsets_.push_back(static_cast<uint32_t>(pos));
      line_offsets_.push_back(static_cast<uint32_t>(end));
      const size_t before = data_.size();
      size_t key_size = 0;
      size_t value_size = 0;
      double etag = 0;
      uint8_t kind = 0;
      if (end > pos && encoder.EncodeLine(bytes_ + pos, end - pos, &data_, &key_size, &value_size, &etag)) {
        if (data_.size() > kMaxOffset) {
          data_.Truncate(before);
        } else {
          kind = 1;
          doc_offsets_.push_back(static_cast<uint32_t>(before));
          doc_offsets_.push_back(static_cast<uint32_t>(before + key_size));
          doc_offsets_.push_back(static_cast<uint32_t>(before + key_size));
          doc_offsets_.push_back(static_cast<uint32_t>(before + key_size + value_size));
          etags_.push_back(etag);
        }
      }
      kinds_.push_back(kind);
      pos = nl != nullptr ? end + 1 : size_;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Buffer<uint8_t> data;
    if (data_.size() == 0) {
      data = Napi::Buffer<uint8_t>::New(env, 0);
    } else {
      // As in export_handle.cc: during environment teardown napi calls fail, so check before handing the block over;
      // on failure data_ still owns it and frees it.
      size_t size = 0;
      const size_t reported = data_.size();
      const int64_t external = static_cast<int64_t>(reported);
      data = Napi::Buffer<uint8_t>::New(env, const_cast<uint8_t*>(data_.data()), reported,
                                        [external](Napi::Env finalize_env, uint8_t* bytes) {
                                          std::free(bytes);
                                          Napi::MemoryManagement::AdjustExternalMemory(finalize_env, -external);
                                        });
      if (data.IsEmpty() || env.IsExceptionPending()) return;
      data_.Release(&size);  // owned by the Buffer now
      Napi::MemoryManagement::AdjustExternalMemory(env, external);
      if (env.IsExceptionPending()) return;
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("kinds", CopyToJs<uint8_t, Napi::Uint8Array>(env, kinds_));
    result.Set("lineOffsets", CopyToJs<uint32_t, Napi::Uint32Array>(env, line_offsets_));
    result.Set("docOffsets", CopyToJs<uint32_t, Napi::Uint32Array>(env, doc_offsets_));
    result.Set("etags", CopyToJs<double, Napi::Float64Array>(env, etags_));
    result.Set("data", data);
    if (env.IsExceptionPending()) return;
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override {
    // Execute never calls SetError; kept so that a future SetError still settles the promise.
    deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  const uint8_t* bytes_;
  size_t size_;
  Napi::ObjectReference lines_ref_;  // keeps `lines` alive while Execute reads it
  std::vector<uint8_t> kinds_;
  std::vector<uint32_t> line_offsets_;
  std::vector<uint32_t> doc_offsets_;
  std::vector<double> etags_;
  ByteSink data_;
};

}  // namespace

Napi::Value JsEncodeDocLines(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    Napi::TypeError::New(env, "encodeDocLines: expected a Buffer of NDJSON lines").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> lines = info[0].As<Napi::Buffer<uint8_t>>();
  if (lines.Length() >= kMaxOffset) {
    Napi::RangeError::New(env, "encodeDocLines: lines must be shorter than 2^32 - 1 bytes")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  EncodeDocLinesWorker* worker = new EncodeDocLinesWorker(env, lines);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace pagevault
