// snapshot_handle.cc: see snapshot_handle.h. The JS shapes are declared in src/native/binding.ts (RawMetaPages,
// NativeSnapshotHandle, RawSnapshotStats, RawPageBatch).

#include "snapshot_handle.h"

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <utility>

#include "addon_data.h"
#include "page_reader.h"
#include "snapshot_meta.h"

namespace pagevault {

namespace {

// Attempts of readMetaPages when a commit lands between its reads (only possible outside the write lock).
constexpr int kMetaReadAttempts = 4;

Napi::Number U64(Napi::Env env, uint64_t value) { return Napi::Number::New(env, static_cast<double>(value)); }

void RandomTag(napi_type_tag* tag) {
  std::random_device device;
  tag->lower = (static_cast<uint64_t>(device()) << 32) | device();
  tag->upper = (static_cast<uint64_t>(device()) << 32) | device();
}

AddonData* DataOf(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

// ToSafeInteger: a JS number that is an integer in 0..2^53-1, else a TypeError naming `function` and `what` (false
// returned).
bool ToSafeInteger(Napi::Env env, const Napi::Value& value, const char* function, const char* what, uint64_t* out) {
  if (value.IsNumber()) {
    const double number = value.As<Napi::Number>().DoubleValue();
    if (std::isfinite(number) && number >= 0 && number <= static_cast<double>(kMaxSafeInteger) &&
        std::floor(number) == number) {
      *out = static_cast<uint64_t>(number);
      return true;
    }
  }
  Napi::TypeError::New(env, std::string(function) + ": expected a safe non-negative integer for " + what)
      .ThrowAsJavaScriptException();
  return false;
}

// ToPath: a non-empty string without NUL, else a TypeError (false returned).
bool ToPath(Napi::Env env, const Napi::Value& value, const char* function, std::string* out) {
  if (value.IsString()) {
    *out = value.As<Napi::String>().Utf8Value();
    if (!out->empty() && out->find('\0') == std::string::npos) return true;
  }
  Napi::TypeError::New(env, std::string(function) + ": expected a non-empty path without NUL characters")
      .ThrowAsJavaScriptException();
  return false;
}

Napi::Object StatsToJs(Napi::Env env, const SnapshotStats& stats, uint32_t page_size) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("pagesVisited", U64(env, stats.walk.pages_visited));
  object.Set("headerProbes", U64(env, stats.walk.header_probes));
  object.Set("subtreesPruned", U64(env, stats.walk.subtrees_pruned));
  object.Set("overflowRunsSkipped", U64(env, stats.walk.overflow_runs_skipped));
  object.Set("databases", U64(env, stats.walk.databases));
  object.Set("overflowRefMismatches", U64(env, stats.walk.overflow_ref_mismatches));
  object.Set("pagesToShip", U64(env, stats.pages_to_ship));
  object.Set("runs", U64(env, stats.runs));
  object.Set("bytesToShip", U64(env, stats.pages_to_ship * page_size));
  object.Set("pagesShipped", U64(env, stats.pages_shipped));
  object.Set("bytesShipped", U64(env, stats.pages_shipped * page_size));
  object.Set("batches", U64(env, stats.batches));
  return object;
}

}  // namespace

// CollectWorker: SnapshotState::Collect on the pool; resolves with the stats or rejects with the native error.
// Holds a strong reference to the handle's JS object so the handle outlives it.
class CollectWorker : public Napi::AsyncWorker {
 public:
  CollectWorker(Napi::Object receiver, SnapshotHandle* handle)
      : Napi::AsyncWorker(receiver.Env(), "pagevault:snapshotCollect"),
        receiver_(Napi::Persistent(receiver)),
        deferred_(Napi::Promise::Deferred::New(receiver.Env())),
        handle_(handle),
        state_(handle->state()) {}

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { status_ = state_->Collect(); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    handle_->busy_ = false;
    if (handle_->phase_ == SnapshotHandle::Phase::kCollecting) {
      handle_->phase_ = status_.ok() ? SnapshotHandle::Phase::kReady : SnapshotHandle::Phase::kFailed;
    }
    handle_->WorkerDone();
    if (status_.ok()) {
      deferred_.Resolve(StatsToJs(env, state_->stats(), state_->plan().page_size));
    } else {
      deferred_.Reject(MakeJsError(env, status_).Value());
    }
  }

  void OnError(const Napi::Error& error) override {
    // Execute never calls SetError; kept so that a future SetError still settles the promise.
    handle_->WorkerFailed(SnapshotHandle::Phase::kCollecting);
    deferred_.Reject(error.Value());
  }

 private:
  Napi::ObjectReference receiver_;  // strong: keeps the handle alive until the worker is deleted after OnOK
  Napi::Promise::Deferred deferred_;
  SnapshotHandle* handle_;
  std::shared_ptr<SnapshotState> state_;
  Status status_;
};

// BatchWorker: SnapshotState::NextBatch on the pool; resolves with {runs, data} (data handed over without a copy)
// or null at the end.
class BatchWorker : public Napi::AsyncWorker {
 public:
  BatchWorker(Napi::Object receiver, SnapshotHandle* handle, uint64_t max_bytes)
      : Napi::AsyncWorker(receiver.Env(), "pagevault:snapshotBatch"),
        receiver_(Napi::Persistent(receiver)),
        deferred_(Napi::Promise::Deferred::New(receiver.Env())),
        handle_(handle),
        state_(handle->state()),
        max_bytes_(max_bytes) {}

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { status_ = state_->NextBatch(max_bytes_, &batch_); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    handle_->busy_ = false;
    if (handle_->phase_ == SnapshotHandle::Phase::kReading) {
      if (!status_.ok()) {
        handle_->phase_ = SnapshotHandle::Phase::kFailed;
      } else {
        handle_->phase_ = batch_.size == 0 ? SnapshotHandle::Phase::kDone : SnapshotHandle::Phase::kReady;
      }
    }
    handle_->WorkerDone();
    if (!status_.ok()) {
      deferred_.Reject(MakeJsError(env, status_).Value());
      return;
    }
    if (batch_.size == 0) {
      deferred_.Resolve(env.Null());
      return;
    }
    // During environment teardown (a terminated worker thread) every napi call fails and returns an empty value
    // (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS): check before writing into the typed array or handing over the data.
    Napi::Float64Array runs = Napi::Float64Array::New(env, batch_.runs.size());
    if (runs.IsEmpty() || env.IsExceptionPending()) return;  // batch_.data still owns the pages and frees them
    std::memcpy(runs.Data(), batch_.runs.data(), batch_.runs.size() * sizeof(double));
    uint8_t* data = batch_.data.release();
    const int64_t size = static_cast<int64_t>(batch_.size);
    // External (no copy). On failure Buffer::New drops its finalizer without running it: the pages are ours again.
    // The size is reported to V8 as external memory (and taken back when the buffer is collected): without it V8
    // sees only a small object per 8 MiB batch and lets dozens of them pile up before collecting (measured: 112 MB
    // of batches alive while streaming a 2 GB snapshot).
    Napi::Buffer<uint8_t> buffer = Napi::Buffer<uint8_t>::New(env, data, batch_.size, [size](Napi::Env finalize_env, uint8_t* bytes) {
      delete[] bytes;
      Napi::MemoryManagement::AdjustExternalMemory(finalize_env, -size);
    });
    if (buffer.IsEmpty()) {
      delete[] data;
      return;
    }
    Napi::MemoryManagement::AdjustExternalMemory(env, size);
    if (env.IsExceptionPending()) return;
    Napi::Object result = Napi::Object::New(env);
    result.Set("runs", runs);
    result.Set("data", buffer);
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override {
    // Execute never calls SetError; kept so that a future SetError still settles the promise.
    handle_->WorkerFailed(SnapshotHandle::Phase::kReading);
    deferred_.Reject(error.Value());
  }

 private:
  Napi::ObjectReference receiver_;  // strong: keeps the handle alive until the worker is deleted after OnOK
  Napi::Promise::Deferred deferred_;
  SnapshotHandle* handle_;
  std::shared_ptr<SnapshotState> state_;
  uint64_t max_bytes_;
  Batch batch_;
  Status status_;
};

void SnapshotHandle::Init(Napi::Env env, Napi::Object exports) {
  AddonData* data = DataOf(env);
  Napi::Function ctor = DefineClass(env, "SnapshotHandle",
                                    {
                                        InstanceMethod<&SnapshotHandle::JsCollect>("collect"),
                                        InstanceMethod<&SnapshotHandle::JsNextBatch>("nextBatch"),
                                        InstanceMethod<&SnapshotHandle::JsStats>("stats"),
                                        InstanceMethod<&SnapshotHandle::JsClose>("close"),
                                    });
  data->snapshot_handle_ctor = Napi::Persistent(ctor);
  RandomTag(&data->snapshot_handle_tag);
  RandomTag(&data->snapshot_plan_tag);
  exports.Set("readMetaPages", Napi::Function::New(env, JsReadMetaPages, "readMetaPages"));
  exports.Set("openSnapshot", Napi::Function::New(env, JsOpenSnapshot, "openSnapshot"));
}

SnapshotHandle::SnapshotHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SnapshotHandle>(info) {
  Napi::Env env = info.Env();
  AddonData* data = DataOf(env);
  if (info.Length() != 1 || !info[0].IsExternal() ||
      !info[0].As<Napi::External<SnapshotPlan>>().CheckTypeTag(&data->snapshot_plan_tag)) {
    phase_ = Phase::kClosed;  // never usable; the throw also makes `new` fail
    Napi::TypeError::New(env, "SnapshotHandle: use openSnapshot() to create one").ThrowAsJavaScriptException();
    return;
  }
  SnapshotPlan* plan = info[0].As<Napi::External<SnapshotPlan>>().Data();
  state_ = std::make_shared<SnapshotState>(std::move(*plan));
  const SnapshotPlan& p = state_->plan();
  page_size_ = p.page_size;
  Napi::Object self = info.This().As<Napi::Object>();
  self.TypeTag(&data->snapshot_handle_tag);
  self.DefineProperties({
      Napi::PropertyDescriptor::Value("txnId", U64(env, p.txnid), napi_enumerable),
      Napi::PropertyDescriptor::Value("baseTxnId", U64(env, p.base_txnid), napi_enumerable),
      Napi::PropertyDescriptor::Value("pageSize", Napi::Number::New(env, p.page_size), napi_enumerable),
      Napi::PropertyDescriptor::Value("lastPage", U64(env, p.meta.last_page), napi_enumerable),
      Napi::PropertyDescriptor::Value("dataVersion", Napi::Number::New(env, p.format->data_version),
                                      napi_enumerable),
      Napi::PropertyDescriptor::Value("pageHeaderSize", Napi::Number::New(env, p.format->header_size),
                                      napi_enumerable),
      Napi::PropertyDescriptor::Value("encrypted", Napi::Boolean::New(env, p.encrypted), napi_enumerable),
      Napi::PropertyDescriptor::Value(
          "metaPages",
          Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(p.normalized_metas.data()),
                                      p.normalized_metas.size()),
          napi_enumerable),
  });
}

SnapshotHandle::~SnapshotHandle() {
  // Only reached with no worker running (a running worker holds a strong reference to this object).
  if (state_) state_->cancel.store(true);
}

bool SnapshotHandle::CheckThis(const Napi::CallbackInfo& info) const {
  AddonData* data = DataOf(info.Env());
  if (info.This().IsObject() && info.This().As<Napi::Object>().CheckTypeTag(&data->snapshot_handle_tag)) return true;
  Napi::TypeError::New(info.Env(), "SnapshotHandle method called on another object").ThrowAsJavaScriptException();
  return false;
}

void SnapshotHandle::WorkerFailed(Phase running) {
  busy_ = false;
  if (phase_ == running) phase_ = Phase::kFailed;
  WorkerDone();
}

void SnapshotHandle::WorkerDone() {
  if (!state_) return;
  stats_ = state_->stats();
  if (phase_ == Phase::kClosed) state_.reset();  // closed while the worker ran: its share was the last use
}

Napi::Value SnapshotHandle::JsCollect(const Napi::CallbackInfo& info) {
  if (!CheckThis(info)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  if (phase_ != Phase::kOpen || busy_) {
    Napi::Error::New(env, phase_ == Phase::kClosed ? "collect: the snapshot handle is closed"
                                                   : "collect: already called on this snapshot handle")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  CollectWorker* worker = new CollectWorker(info.This().As<Napi::Object>(), this);
  Napi::Promise promise = worker->promise();
  phase_ = Phase::kCollecting;
  busy_ = true;
  worker->Queue();
  return promise;
}

Napi::Value SnapshotHandle::JsNextBatch(const Napi::CallbackInfo& info) {
  if (!CheckThis(info)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  uint64_t max_bytes = 0;
  if (info.Length() < 1 || !ToSafeInteger(env, info[0], "nextBatch", "maxBytes", &max_bytes)) return env.Undefined();
  if (phase_ == Phase::kDone) {
    Napi::Promise::Deferred done = Napi::Promise::Deferred::New(env);
    done.Resolve(env.Null());
    return done.Promise();
  }
  if (phase_ != Phase::kReady || busy_) {
    const char* why = busy_ ? "nextBatch: a call is already pending (one at a time)"
                      : phase_ == Phase::kClosed ? "nextBatch: the snapshot handle is closed"
                      : phase_ == Phase::kFailed ? "nextBatch: the snapshot handle failed earlier"
                                                 : "nextBatch: collect() has not completed";
    Napi::Error::New(env, why).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  BatchWorker* worker = new BatchWorker(info.This().As<Napi::Object>(), this, max_bytes);
  Napi::Promise promise = worker->promise();
  phase_ = Phase::kReading;
  busy_ = true;
  worker->Queue();
  return promise;
}

Napi::Value SnapshotHandle::JsStats(const Napi::CallbackInfo& info) {
  if (!CheckThis(info)) return info.Env().Undefined();
  return StatsToJs(info.Env(), stats_, page_size_);
}

Napi::Value SnapshotHandle::JsClose(const Napi::CallbackInfo& info) {
  if (!CheckThis(info)) return info.Env().Undefined();
  if (phase_ != Phase::kClosed) {
    phase_ = Phase::kClosed;
    if (state_) {
      state_->cancel.store(true);
      if (!busy_) state_.reset();  // otherwise WorkerDone drops it when the running worker finishes
    }
  }
  return info.Env().Undefined();
}

Napi::Value JsReadMetaPages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ToPath(env, info.Length() > 0 ? info[0] : env.Undefined(), "readMetaPages", &path)) return env.Undefined();
  std::unique_ptr<PageReader> reader;
  Status status = PageReader::Open(path, &reader);
  MetaPair pair;
  std::string pages;
  for (int attempt = 1; status.ok(); ++attempt) {
    status = reader->ReadMetaPages(&pair, &pages);
    if (status.ok() || !status.concurrent() || attempt >= kMetaReadAttempts) break;
    status = Status::Ok();
  }
  if (!status.ok()) {
    MakeJsError(env, status).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array metas = Napi::Array::New(env, 2);
  for (uint32_t slot = 0; slot < 2; ++slot) {
    const Meta& meta = pair.metas[slot];
    Napi::Object object = Napi::Object::New(env);
    // Only the current meta was validated (below 2^53); the other is reported as a double, possibly inexact.
    object.Set("txnId", U64(env, meta.txnid));
    object.Set("lastPage", U64(env, meta.last_page));
    object.Set("envFlags", Napi::Number::New(env, meta.env_flags()));
    object.Set("mapSize", U64(env, meta.map_size));
    metas.Set(slot, object);
  }
  const Meta& current = pair.current_meta();
  Napi::Object result = Napi::Object::New(env);
  result.Set("dataPath", Napi::String::New(env, reader->data_path()));
  result.Set("pageSize", Napi::Number::New(env, reader->page_size()));
  result.Set("dataVersion", Napi::Number::New(env, reader->format().data_version));
  result.Set("pageHeaderSize", Napi::Number::New(env, reader->format().header_size));
  result.Set("currentSlot", Napi::Number::New(env, pair.current));
  result.Set("encrypted", Napi::Boolean::New(env, (current.env_flags() & kEnvFlagEncrypted) != 0));
  result.Set("metas", metas);
  result.Set("pages",
             Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(pages.data()), pages.size()));
  return result;
}

Napi::Value JsOpenSnapshot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  uint64_t txnid = 0;
  uint64_t base_txnid = 0;
  if (!ToPath(env, info.Length() > 0 ? info[0] : env.Undefined(), "openSnapshot", &path)) return env.Undefined();
  if (info.Length() < 4 || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "openSnapshot: expected (path, metaPages: Buffer, txnId, baseTxnId, envKey?: Buffer)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!ToSafeInteger(env, info[2], "openSnapshot", "txnId", &txnid) ||
      !ToSafeInteger(env, info[3], "openSnapshot", "baseTxnId", &base_txnid)) {
    return env.Undefined();
  }
  if (base_txnid > txnid) {
    Napi::RangeError::New(env, "openSnapshot: baseTxnId is newer than txnId").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint8_t* key = nullptr;
  if (info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull()) {
    if (!info[4].IsBuffer() || info[4].As<Napi::Buffer<uint8_t>>().Length() != 32) {
      Napi::TypeError::New(env, "openSnapshot: envKey must be a Buffer of 32 bytes").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    key = info[4].As<Napi::Buffer<uint8_t>>().Data();
  }
  Napi::Buffer<uint8_t> raw = info[1].As<Napi::Buffer<uint8_t>>();
  auto plan = std::make_unique<SnapshotPlan>();
  Status status = PlanSnapshot(path, raw.Data(), raw.Length(), txnid, base_txnid, key, plan.get());
  if (!status.ok()) {
    MakeJsError(env, status).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  AddonData* data = DataOf(env);
  Napi::External<SnapshotPlan> external = Napi::External<SnapshotPlan>::New(env, plan.get());
  external.TypeTag(&data->snapshot_plan_tag);
  // The constructor moves the plan's contents into the handle's state; `plan` frees the emptied shell.
  return data->snapshot_handle_ctor.New({external});
}

}  // namespace pagevault
