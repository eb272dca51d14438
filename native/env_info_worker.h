// env_info_worker.h: EnvInfoWorker, the AsyncWorker behind the addon's envInfo(path) export.

#ifndef PAGEVAULT_NATIVE_ENV_INFO_WORKER_H_
#define PAGEVAULT_NATIVE_ENV_INFO_WORKER_H_

#include <napi.h>

#include <string>

#include "env_report.h"
#include "errors.h"

namespace pagevault {

// EnvInfoWorker: runs BuildEnvReport on the libuv pool (Execute touches only C++ state) and settles a Promise on
// the JS thread (OnOK): resolved with the report as a plain object, or rejected with MakeJsError's Error. Settles
// exactly once. Heap-allocated and queued by JsEnvInfo; node-addon-api deletes it after OnOK.
class EnvInfoWorker : public Napi::AsyncWorker {
 public:
  EnvInfoWorker(Napi::Env env, std::string path);

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  Status status_;
  EnvReport report_;
};

// JsEnvInfo: envInfo(path: string): Promise<RawEnvInfo>. Throws a TypeError synchronously for a non-string, empty
// or NUL-containing path (the TS layer validates first; this guards the raw binding).
Napi::Value JsEnvInfo(const Napi::CallbackInfo& info);

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_ENV_INFO_WORKER_H_
