#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ and
# runs the native and ensemble test suites against it (the ASan runtime must be preloaded
# into node, which is not itself instrumented; leak checking is off because V8 keeps
# allocations alive until exit).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
OMNIDISTILL_NATIVE_OUT=build-asan OMNIDISTILL_NATIVE_SANITIZE=address,undefined OMNIDISTILL_NATIVE_CUDA=off node scripts/build.mjs
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OMNIDISTILL_NATIVE_PATH="$here/build-asan/Release/omnidistill_native.node"
npx vitest run
(cd ../packages/ensemble && npx vitest run)
