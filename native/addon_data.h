// addon_data.h: AddonData, the per-load state of the addon (one per Node environment: main thread or worker thread).
//
// Kept with napi instance data (Env::SetInstanceData), so each worker thread that loads the addon gets its own and
// Node deletes it when that environment is torn down. Nothing here is global or shared between threads.

#ifndef PAGEVAULT_NATIVE_ADDON_DATA_H_
#define PAGEVAULT_NATIVE_ADDON_DATA_H_

#include <napi.h>

namespace pagevault {

// AddonData: constructors of the addon's classes and the type tags that prove an object was made by this load.
struct AddonData {
  Napi::FunctionReference snapshot_handle_ctor;
  napi_type_tag snapshot_handle_tag{};  // random per load: tags every SnapshotHandle
  napi_type_tag snapshot_plan_tag{};    // random per load: tags the External openSnapshot passes to the constructor
  Napi::FunctionReference export_handle_ctor;
  napi_type_tag export_handle_tag{};    // random per load: tags every ExportHandle
  napi_type_tag export_init_tag{};      // random per load: tags the External openExport passes to the constructor
};

}  // namespace pagevault

#endif  // PAGEVAULT_NATIVE_ADDON_DATA_H_
