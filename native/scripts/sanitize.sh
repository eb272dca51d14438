#!/usr/bin/env bash
# sanitize.sh: rebuild the addon with ASan + UBSan, run the native tests under them, then rebuild it normally.
# Usage (from the package root): native/scripts/sanitize.sh [extra vitest args]
# The sanitized build replaces build/Release while it runs; don't run other test suites at the same time.
# Leak detection is off: Node itself does not free everything at exit, which would drown real reports.
set -euo pipefail
cd "$(dirname "$0")/../.."

libasan="$(g++ -print-file-name=libasan.so)"
trap 'npx node-gyp rebuild >/dev/null' EXIT

npx node-gyp rebuild --sanitize=1 >/dev/null
LD_PRELOAD="$libasan" \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  npx vitest run test/native "$@"
