// export_handle.cc: see export_handle.h. The JS shapes are declared in src/native/binding.ts (ExportDbSpec,
// NativeExportHandle, RawExportBatch, RawExportStats).

#include "export_handle.h"

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "addon_data.h"
#include "export_parallel.h"
#include "snapshot_meta.h"

namespace pagevault {

namespace {

// ExportInit: what openExport hands to the ExportHandle constructor through a tagged External.
struct ExportInit {
  SnapshotPlan plan;
  std::vector<ExportDbSpec> dbs;
  ParallelExportOptions options;  // threads <= 1: one ExportCursor on the pool thread of each nextBatch
};

// kMaxExportThreads: openExport's upper bound for `threads` (src/native/binding.ts checks the same).
constexpr uint32_t kMaxExportThreads = 64;

Napi::Number U64(Napi::Env env, uint64_t value) { return Napi::Number::New(env, static_cast<double>(value)); }

void RandomTag(napi_type_tag* tag) {
  std::random_device device;
  tag->lower = (static_cast<uint64_t>(device()) << 32) | device();
  tag->upper = (static_cast<uint64_t>(device()) << 32) | device();
}

AddonData* DataOf(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

void ThrowType(Napi::Env env, const std::string& message) {
  Napi::TypeError::New(env, "openExport: " + message).ThrowAsJavaScriptException();
}

bool ToSafeInteger(const Napi::Value& value, uint64_t* out) {
  if (!value.IsNumber()) return false;
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || number < 0 || number > static_cast<double>(kMaxSafeInteger) ||
      std::floor(number) != number) {
    return false;
  }
  *out = static_cast<uint64_t>(number);
  return true;
}

// ParseSpec: one ExportDbSpec object; false with a TypeError pending when it is malformed.
bool ParseSpec(Napi::Env env, const Napi::Value& value, size_t index, ExportDbSpec* spec) {
  const std::string where = "dbs[" + std::to_string(index) + "]";
  if (!value.IsObject()) {
    ThrowType(env, "expected an object for " + where);
    return false;
  }
  Napi::Object object = value.As<Napi::Object>();
  Napi::Value name = object.Get("name");
  if (name.IsNull()) {
    spec->root = true;
  } else if (name.IsString()) {
    spec->name = name.As<Napi::String>().Utf8Value();
  } else {
    ThrowType(env, "expected a string or null for " + where + ".name");
    return false;
  }
  Napi::Value prefix = object.Get("prefix");
  if (!prefix.IsString()) {
    ThrowType(env, "expected a string for " + where + ".prefix");
    return false;
  }
  spec->prefix = prefix.As<Napi::String>().Utf8Value();
  Napi::Value key_mode = object.Get("keyMode");
  const std::string key = key_mode.IsString() ? key_mode.As<Napi::String>().Utf8Value() : "";
  if (key == "string") {
    spec->key_mode = ExportKeyMode::kString;
  } else if (key == "uint32") {
    spec->key_mode = ExportKeyMode::kUint32;
  } else if (key == "raw") {
    spec->key_mode = ExportKeyMode::kRaw;
  } else {
    ThrowType(env, "expected 'string', 'uint32' or 'raw' for " + where + ".keyMode");
    return false;
  }
  Napi::Value value_mode = object.Get("valueMode");
  const std::string mode = value_mode.IsString() ? value_mode.As<Napi::String>().Utf8Value() : "";
  if (mode == "msgpack") {
    spec->value_mode = ExportValueMode::kMsgpack;
  } else if (mode == "string") {
    spec->value_mode = ExportValueMode::kString;
  } else if (mode == "binary") {
    spec->value_mode = ExportValueMode::kBinary;
  } else if (mode == "raw") {
    spec->value_mode = ExportValueMode::kRaw;
  } else {
    ThrowType(env, "expected 'msgpack', 'string', 'binary' or 'raw' for " + where + ".valueMode");
    return false;
  }
  for (const char* flag : {"versions", "mapsAsObjects"}) {
    Napi::Value v = object.Get(flag);
    if (!v.IsUndefined() && !v.IsBoolean()) {
      ThrowType(env, std::string("expected a boolean for ") + where + "." + flag);
      return false;
    }
    const bool on = v.IsBoolean() && v.As<Napi::Boolean>().Value();
    if (std::string(flag) == "versions") {
      spec->versions = on;
    } else {
      spec->maps_as_objects = on;
    }
  }
  Napi::Value compression = object.Get("compression");
  if (!compression.IsUndefined() && !compression.IsNull()) {
    Napi::Value dictionary = compression.IsObject() ? compression.As<Napi::Object>().Get("dictionary") : env.Undefined();
    if (!dictionary.IsBuffer()) {
      ThrowType(env, "expected { dictionary: Buffer } for " + where + ".compression");
      return false;
    }
    Napi::Buffer<uint8_t> bytes = dictionary.As<Napi::Buffer<uint8_t>>();
    spec->compression_dictionary = std::make_shared<const std::vector<uint8_t>>(bytes.Data(), bytes.Data() + bytes.Length());
  }
  Napi::Value structures = object.Get("structures");
  if (structures.IsUndefined() || structures.IsNull()) return true;
  if (!structures.IsArray() || structures.As<Napi::Array>().Length() > 8160) {
    ThrowType(env, "expected null or an array of at most 8160 key lists for " + where + ".structures");
    return false;
  }
  Napi::Array list = structures.As<Napi::Array>();
  spec->structures.resize(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value entry = list.Get(i);
    if (entry.IsUndefined() || entry.IsNull()) continue;  // a hole: msgpackr skips it
    if (!entry.IsArray()) {
      ThrowType(env, "expected an array of strings for " + where + ".structures[" + std::to_string(i) + "]");
      return false;
    }
    Napi::Array keys = entry.As<Napi::Array>();
    spec->structures[i].present = true;
    for (uint32_t k = 0; k < keys.Length(); ++k) {
      Napi::Value item = keys.Get(k);
      if (!item.IsString()) {
        ThrowType(env, "expected only strings in " + where + ".structures[" + std::to_string(i) + "]");
        return false;
      }
      spec->structures[i].keys.push_back(item.As<Napi::String>().Utf8Value());
    }
  }
  return true;
}

Napi::Object StatsToJs(Napi::Env env, const ExportStats& stats) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("entries", U64(env, stats.entries));
  object.Set("bytes", U64(env, stats.bytes));
  object.Set("fallbacks", U64(env, stats.fallbacks));
  object.Set("pagesRead", U64(env, stats.pages_read));
  object.Set("batches", U64(env, stats.batches));
  return object;
}

}  // namespace

// ExportBatchWorker: ExportCursor::NextBatch on the pool; resolves with {data, entries, fallbacks} (data handed over
// without a copy) or null at the end. Holds a strong reference to the handle's JS object so the handle outlives it.
class ExportBatchWorker : public Napi::AsyncWorker {
 public:
  ExportBatchWorker(Napi::Object receiver, ExportHandle* handle, uint64_t max_bytes)
      : Napi::AsyncWorker(receiver.Env(), "pagevault:exportBatch"),
        receiver_(Napi::Persistent(receiver)),
        deferred_(Napi::Promise::Deferred::New(receiver.Env())),
        handle_(handle),
        source_(handle->source_),
        max_bytes_(max_bytes) {}

  ~ExportBatchWorker() override { std::free(batch_.data); }  // still set when the batch never reached JS

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { status_ = source_->NextBatch(max_bytes_, &batch_); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    handle_->WorkerDone(status_.ok(), status_.ok() && batch_.size == 0);
    if (!status_.ok()) {
      deferred_.Reject(MakeJsError(env, status_).Value());
      return;
    }
    if (batch_.size == 0) {
      deferred_.Resolve(env.Null());
      return;
    }
    // As in snapshot_handle.cc: during environment teardown every napi call fails and returns an empty value, so
    // check before handing the block over; on failure batch_.data still owns it and the destructor frees it.
    // No AdjustExternalMemory: V8 already counts an external Buffer's backing store toward its GC heuristics (with
    // the report removed, --trace-gc still shows a mark-compact requested per ~175 MB of batches), and reporting it
    // again doubled those full collections: with a 210 MB JS heap, 1 thread went 305k -> 392k entries/s and
    // 2 threads 377k -> 569k without it (bench dataset; 810k / 1.3M with a small heap either way).
    Napi::Buffer<uint8_t> buffer = Napi::Buffer<uint8_t>::New(
        env, batch_.data, batch_.size, [](Napi::Env /*finalize_env*/, uint8_t* bytes) { std::free(bytes); });
    if (buffer.IsEmpty() || env.IsExceptionPending()) return;
    batch_.data = nullptr;  // owned by the Buffer now
    Napi::Object result = Napi::Object::New(env);
    result.Set("data", buffer);
    result.Set("entries", U64(env, batch_.entries));
    result.Set("fallbacks", U64(env, batch_.fallbacks));
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override {
    // Execute never calls SetError; kept so that a future SetError still settles the promise.
    handle_->WorkerDone(false, false);
    deferred_.Reject(error.Value());
  }

 private:
  Napi::ObjectReference receiver_;  // strong: keeps the handle alive until the worker is deleted after OnOK
  Napi::Promise::Deferred deferred_;
  ExportHandle* handle_;
  std::shared_ptr<ExportBatchSource> source_;
  uint64_t max_bytes_;
  ExportBatch batch_;
  Status status_;
};

void ExportHandle::Init(Napi::Env env, Napi::Object exports) {
  AddonData* data = DataOf(env);
  Napi::Function ctor = DefineClass(env, "ExportHandle",
                                    {
                                        InstanceMethod<&ExportHandle::JsNextBatch>("nextBatch"),
                                        InstanceMethod<&ExportHandle::JsStats>("stats"),
                                        InstanceMethod<&ExportHandle::JsClose>("close"),
                                    });
  data->export_handle_ctor = Napi::Persistent(ctor);
  RandomTag(&data->export_handle_tag);
  RandomTag(&data->export_init_tag);
  exports.Set("openExport", Napi::Function::New(env, JsOpenExport, "openExport"));
}

ExportHandle::ExportHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ExportHandle>(info) {
  Napi::Env env = info.Env();
  AddonData* data = DataOf(env);
  if (info.Length() != 1 || !info[0].IsExternal() ||
      !info[0].As<Napi::External<ExportInit>>().CheckTypeTag(&data->export_init_tag)) {
    phase_ = Phase::kClosed;  // never usable; the throw also makes `new` fail
    Napi::TypeError::New(env, "ExportHandle: use openExport() to create one").ThrowAsJavaScriptException();
    return;
  }
  ExportInit* init = info[0].As<Napi::External<ExportInit>>().Data();
  if (init->options.threads <= 1) {
    source_ = std::make_shared<ExportCursor>(std::move(init->plan), std::move(init->dbs));
  } else {
    source_ = std::make_shared<ParallelExport>(std::move(init->plan), std::move(init->dbs), init->options);
  }
  info.This().As<Napi::Object>().TypeTag(&data->export_handle_tag);
}

ExportHandle::~ExportHandle() {
  // Only reached with no worker running (a running worker holds a strong reference to this object). Dropping the
  // source here joins a ParallelExport's threads, which the cancel makes prompt.
  if (source_) source_->Cancel();
}

bool ExportHandle::CheckThis(const Napi::CallbackInfo& info) const {
  AddonData* data = DataOf(info.Env());
  if (info.This().IsObject() && info.This().As<Napi::Object>().CheckTypeTag(&data->export_handle_tag)) return true;
  Napi::TypeError::New(info.Env(), "ExportHandle method called on another object").ThrowAsJavaScriptException();
  return false;
}

void ExportHandle::WorkerDone(bool ok, bool end) {
  busy_ = false;
  if (phase_ == Phase::kReading) phase_ = !ok ? Phase::kFailed : end ? Phase::kDone : Phase::kReady;
  if (!source_) return;
  stats_ = source_->stats();
  if (phase_ == Phase::kClosed) source_.reset();  // closed while the worker ran: its share was the last use
}

Napi::Value ExportHandle::JsNextBatch(const Napi::CallbackInfo& info) {
  if (!CheckThis(info)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  uint64_t max_bytes = 0;
  if (info.Length() < 1 || !ToSafeInteger(info[0], &max_bytes)) {
    Napi::TypeError::New(env, "nextBatch: expected a safe non-negative integer for maxBytes")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (max_bytes == 0) max_bytes = 1;  // "at least 0 bytes" would otherwise read as the end
  if (phase_ == Phase::kDone) {
    Napi::Promise::Deferred done = Napi::Promise::Deferred::New(env);
    done.Resolve(env.Null());
    return done.Promise();
  }
  if (phase_ != Phase::kReady || busy_) {
    const char* why = busy_ ? "nextBatch: a call is already pending (one at a time)"
                      : phase_ == Phase::kClosed ? "nextBatch: the export handle is closed"
                                                 : "nextBatch: the export handle failed earlier";
    Napi::Error::New(env, why).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ExportBatchWorker* worker = new ExportBatchWorker(info.This().As<Napi::Object>(), this, max_bytes);
  Napi::Promise promise = worker->promise();
  phase_ = Phase::kReading;
  busy_ = true;
  worker->Queue();
  return promise;
}

Napi::Value ExportHandle::JsStats(const Napi::CallbackInfo& info) {
  if (!CheckThis(info)) return info.Env().Undefined();
  return StatsToJs(info.Env(), stats_);
}

Napi::Value ExportHandle::JsClose(const Napi::CallbackInfo& info) {
  if (!CheckThis(info)) return info.Env().Undefined();
  if (phase_ != Phase::kClosed) {
    phase_ = Phase::kClosed;
    if (source_) {
      source_->Cancel();
      if (!busy_) source_.reset();  // otherwise the running worker drops the last share when it is deleted
    }
  }
  return info.Env().Undefined();
}

Napi::Value JsOpenExport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsBuffer() || !info[3].IsArray() ||
      (info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsObject())) {
    ThrowType(env, "expected (path: string, metaPages: Buffer, txnId: number, dbs: ExportDbSpec[], options?: object)");
    return env.Undefined();
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.empty() || path.find('\0') != std::string::npos) {
    ThrowType(env, "expected a non-empty path without NUL characters");
    return env.Undefined();
  }
  uint64_t txnid = 0;
  if (!ToSafeInteger(info[2], &txnid)) {
    ThrowType(env, "expected a safe non-negative integer for txnId");
    return env.Undefined();
  }
  auto init = std::make_unique<ExportInit>();
  Napi::Array dbs = info[3].As<Napi::Array>();
  for (uint32_t i = 0; i < dbs.Length(); ++i) {
    ExportDbSpec spec;
    if (!ParseSpec(env, dbs.Get(i), i, &spec)) return env.Undefined();
    init->dbs.push_back(std::move(spec));
  }
  if (info.Length() > 4 && info[4].IsObject()) {
    Napi::Object options = info[4].As<Napi::Object>();
    uint64_t threads = 1;
    Napi::Value value = options.Get("threads");
    if (!value.IsUndefined() && (!ToSafeInteger(value, &threads) || threads < 1 || threads > kMaxExportThreads)) {
      ThrowType(env, "expected an integer between 1 and 64 for options.threads");
      return env.Undefined();
    }
    init->options.threads = static_cast<uint32_t>(threads);
    value = options.Get("rangeLeafPages");
    if (!value.IsUndefined() && (!ToSafeInteger(value, &init->options.range_leaves) || init->options.range_leaves < 1)) {
      ThrowType(env, "expected a positive integer for options.rangeLeafPages");
      return env.Undefined();
    }
  } else {
    init->options.threads = 1;
  }
  Napi::Buffer<uint8_t> raw = info[1].As<Napi::Buffer<uint8_t>>();
  Status status = PlanSnapshot(path, raw.Data(), raw.Length(), txnid, 0, nullptr, &init->plan);
  if (status.ok() && init->plan.encrypted) {
    status = Status::UnsupportedFormat("cannot export an environment whose pages lmdb-js encrypted: its tree pages "
                                       "are ciphertext (take a snapshot backup instead)");
  }
  if (!status.ok()) {
    MakeJsError(env, status).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  AddonData* data = DataOf(env);
  Napi::External<ExportInit> external = Napi::External<ExportInit>::New(env, init.get());
  external.TypeTag(&data->export_init_tag);
  // The constructor moves the plan and specs into the cursor; `init` frees the emptied shell.
  return data->export_handle_ctor.New({external});
}

}  // namespace pagevault
