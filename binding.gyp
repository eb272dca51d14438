# pagevault_native: the page reader addon. It links NO LMDB (LMDB-INTERNALS.md §0): it reads data.mdb itself.
# Build: `npm run build:native` (node-gyp rebuild). Sanitizers: `npx node-gyp rebuild --sanitize=1`, then run node
# with LD_PRELOAD of libasan; native/scripts/sanitize.sh does both and runs test/native.
{
  'variables': {
    'sanitize%': 0,
  },
  'targets': [
    {
      'target_name': 'pagevault_native',
      # gyp has no globs: list every native/*.cc here.
      'sources': [
        'native/addon.cc',
        'native/chacha8.cc',
        'native/doc_encoder.cc',
        'native/encode_doc_lines.cc',
        'native/env_info_worker.cc',
        'native/env_report.cc',
        'native/errors.cc',
        'native/export_cursor.cc',
        'native/export_handle.cc',
        'native/export_parallel.cc',
        'native/file_lock.cc',
        'native/format.cc',
        'native/json_out.cc',
        'native/lz4_block.cc',
        'native/main_tree.cc',
        'native/msgpack_json.cc',
        'native/page_reader.cc',
        'native/page_writer.cc',
        'native/snapshot_handle.cc',
        'native/snapshot_meta.cc',
        'native/snapshot_pages.cc',
        'native/snapshot_state.cc',
        'native/snapshot_walk.cc',
        'native/text.cc',
      ],
      # node-addon-api is CommonJS, so `node -p` can require it whatever our package type; include_dir is relative
      # to the working directory, which node-gyp sets to this file's directory.
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: when a worker thread is terminated with envInfo calls in flight,
      # OnOK runs during environment teardown, where every napi call fails; without it node-addon-api turns that
      # into a fatal error (abort). Found by test/native/03.worker-teardown.test.ts.
      'defines': [
        'NAPI_VERSION=8',
        'NAPI_DISABLE_CPP_EXCEPTIONS',
        'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS',
        '_FILE_OFFSET_BITS=64',
        '_GNU_SOURCE',
      ],
      # node's common.gypi adds -Wno-unused-parameter and -std=gnu++17; we want the full -Wall -Wextra and C++17.
      'cflags!': ['-Wno-unused-parameter', '-O3'],
      'cflags_cc!': ['-std=gnu++17'],
      'cflags': ['-Wall', '-Wextra', '-fvisibility=hidden', '-O2'],
      'cflags_cc': ['-std=c++17', '-fvisibility-inlines-hidden'],
      'xcode_settings': {
        'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
        'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
        'GCC_OPTIMIZATION_LEVEL': '2',
        'OTHER_CFLAGS': ['-Wall', '-Wextra'],
      },
      'conditions': [
        ['sanitize==1', {
          'cflags': ['-fsanitize=address,undefined', '-fno-omit-frame-pointer', '-fno-sanitize-recover=undefined'],
          'ldflags': ['-fsanitize=address,undefined'],
          'xcode_settings': {
            'OTHER_CFLAGS': ['-fsanitize=address,undefined', '-fno-omit-frame-pointer'],
            'OTHER_LDFLAGS': ['-fsanitize=address,undefined'],
          },
        }],
      ],
    },
  ],
}
