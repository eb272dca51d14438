// addon.cc: module entry point of pagevault_native. Exports:
//   envInfo(path: string): Promise<RawEnvInfo>   (env_info_worker.h)
//   formats: [{ dataVersion, pageHeaderSize, pageBase, maxPageSize, description }]  the layouts the reader knows
//   tryLockFile(path): number | null, unlockFile(fd)  exclusive flock(2) locks (file_lock.h)
//   writeRuns(fd, runs, data, pageSize): Promise<void>  batched pwrites of page runs (page_writer.h)
//   preallocate(fd, offset, length, keepSize): Promise<boolean>  fallocate(2) off the JS thread (page_writer.h)
//   readMetaPages(path), openSnapshot(path, metaPages, txnId, baseTxnId)  page snapshots (snapshot_handle.h)
//   openExport(path, metaPages, txnId, dbs, options?)  the native JSON export, threads optional (export_handle.h)
//   encodeDocLines(lines): Promise<EncodedDocLines>  JSON doc lines -> lmdb-js keys and values (encode_doc_lines.h)
// Loaded only by src/native/binding.ts, which declares these types. The addon links no LMDB and keeps no global
// state (per-load state lives in AddonData, napi instance data), so it is safe to load in several worker threads
// at once.

#include <napi.h>

#include "addon_data.h"
#include "encode_doc_lines.h"
#include "env_info_worker.h"
#include "export_handle.h"
#include "file_lock.h"
#include "page_writer.h"
#include "format.h"
#include "snapshot_handle.h"

namespace pagevault {

namespace {

Napi::Array FormatsToJs(Napi::Env env) {
  Napi::Array list = Napi::Array::New(env);
  for (uint32_t version = 1; const PageFormat* format = FormatForVersion(version); ++version) {
    Napi::Object object = Napi::Object::New(env);
    object.Set("dataVersion", Napi::Number::New(env, format->data_version));
    object.Set("pageHeaderSize", Napi::Number::New(env, format->header_size));
    object.Set("pageBase", Napi::Number::New(env, format->page_base));
    object.Set("maxPageSize", Napi::Number::New(env, format->max_page_size));
    object.Set("description", Napi::String::New(env, format->description));
    object.Freeze();
    list.Set(list.Length(), object);
  }
  list.Freeze();
  return list;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());  // deleted by Node when this environment is torn down
  exports.Set("envInfo", Napi::Function::New(env, JsEnvInfo, "envInfo"));
  exports.Set("formats", FormatsToJs(env));
  exports.Set("tryLockFile", Napi::Function::New(env, JsTryLockFile, "tryLockFile"));
  exports.Set("unlockFile", Napi::Function::New(env, JsUnlockFile, "unlockFile"));
  exports.Set("writeRuns", Napi::Function::New(env, JsWriteRuns, "writeRuns"));
  exports.Set("preallocate", Napi::Function::New(env, JsPreallocate, "preallocate"));
  exports.Set("encodeDocLines", Napi::Function::New(env, JsEncodeDocLines, "encodeDocLines"));
  SnapshotHandle::Init(env, exports);
  ExportHandle::Init(env, exports);
  return exports;
}

}  // namespace

}  // namespace pagevault

// NODE_API_MODULE pastes the function name into an identifier, so it needs an unqualified one.
static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return pagevault::Init(env, exports); }

NODE_API_MODULE(pagevault_native, InitModule)
