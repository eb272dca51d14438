// env_info_worker.cc: see env_info_worker.h. The resolved object's shape is RawEnvInfo in src/native/binding.ts.

#include "env_info_worker.h"

#include <utility>

namespace pagevault {

namespace {

// Every counter was checked to be <= 2^53 - 1 by the reader, so doubles hold them exactly.
Napi::Number U64(Napi::Env env, uint64_t value) { return Napi::Number::New(env, static_cast<double>(value)); }

Napi::Object DbRecordToJs(Napi::Env env, const DbRecord& record) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("flags", Napi::Number::New(env, record.flags));
  object.Set("depth", Napi::Number::New(env, record.depth));
  object.Set("entries", U64(env, record.entries));
  object.Set("rootPage", record.root == kInvalidPage ? env.Null() : U64(env, record.root));
  object.Set("branchPages", U64(env, record.branch_pages));
  object.Set("leafPages", U64(env, record.leaf_pages));
  object.Set("overflowPages", U64(env, record.overflow_pages));
  return object;
}

Napi::Object ReportToJs(Napi::Env env, const EnvReport& report) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("dataPath", Napi::String::New(env, report.data_path));
  object.Set("fileSize", U64(env, report.file_size));
  object.Set("dataVersion", Napi::Number::New(env, report.format->data_version));
  object.Set("pageHeaderSize", Napi::Number::New(env, report.format->header_size));
  object.Set("formatDescription", Napi::String::New(env, report.format->description));
  object.Set("pageSize", Napi::Number::New(env, report.page_size));
  object.Set("mapSize", U64(env, report.meta.map_size));
  object.Set("lastPage", U64(env, report.meta.last_page));
  object.Set("lastTxnId", U64(env, report.meta.txnid));
  object.Set("metaSlot", Napi::Number::New(env, report.meta_slot));
  object.Set("envFlags", Napi::Number::New(env, report.meta.env_flags()));
  object.Set("encrypted", Napi::Boolean::New(env, report.encrypted));
  object.Set("mainDb", DbRecordToJs(env, report.meta.main_db));
  if (report.encrypted) {
    object.Set("namedDatabases", env.Null());
  } else {
    Napi::Array list = Napi::Array::New(env, report.named_dbs.size());
    for (size_t i = 0; i < report.named_dbs.size(); ++i) {
      const NamedDb& named = report.named_dbs[i];
      Napi::Object entry = DbRecordToJs(env, named.record);
      // Names are UTF-8 as lmdb-js writes them; invalid sequences become U+FFFD.
      entry.Set("name", Napi::String::New(env, named.name));
      list.Set(static_cast<uint32_t>(i), entry);
    }
    object.Set("namedDatabases", list);
  }
  return object;
}

}  // namespace

EnvInfoWorker::EnvInfoWorker(Napi::Env env, std::string path)
    : Napi::AsyncWorker(env, "pagevault:envInfo"),
      deferred_(Napi::Promise::Deferred::New(env)),
      path_(std::move(path)) {}

void EnvInfoWorker::Execute() { status_ = BuildEnvReport(path_, &report_); }

void EnvInfoWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (status_.ok()) {
    deferred_.Resolve(ReportToJs(env, report_));
  } else {
    deferred_.Reject(MakeJsError(env, status_).Value());
  }
}

void EnvInfoWorker::OnError(const Napi::Error& error) {
  // Execute never calls SetError; kept so that a future SetError still settles the promise.
  deferred_.Reject(error.Value());
}

Napi::Value JsEnvInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "envInfo: expected a path string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.empty() || path.find('\0') != std::string::npos) {
    Napi::TypeError::New(env, "envInfo: expected a non-empty path without NUL characters")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  EnvInfoWorker* worker = new EnvInfoWorker(env, std::move(path));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace pagevault
