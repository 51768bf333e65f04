#!/usr/bin/env bash
# Cross-builds the native engine with Debian's toolchains (README "Platforms"), two jobs:
#   cross_build.sh linux-arm64-gnu [cmake-js args]  the addon and the kernel + platform tests for Linux arm64
#       (glibc), with g++-aarch64-linux-gnu: native/build-linux-arm64-gnu/{Release/wenxin_native.node,tests/}
#   cross_build.sh win32-x64-mingw [cmake args]     the core + kernel test programs for Windows x64, with
#       mingw-w64 (posix threads, static runtime): native/build-win32-x64-mingw/tests/*.exe
# Extra arguments go to cmake-js / cmake (e.g. --CDCMAKE_CXX_FLAGS=...). ccache is used when installed.
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
if command -v ccache >/dev/null; then launcher=(--CDCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
target=${1:?usage: cross_build.sh linux-arm64-gnu|win32-x64-mingw [args]}
shift
case "$target" in
  linux-arm64-gnu)
    # The addon alone through cmake-js (it configures the Node headers), then the test programs.
    pnpm exec cmake-js compile --config Release --out build-linux-arm64-gnu --parallel 2 --target wenxin_native \
      --CDCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" "${launcher[@]}" "$@"
    cmake --build build-linux-arm64-gnu --parallel 2 --target wenxin_kernel_tests wenxin_platform_tests
    ;;
  win32-x64-mingw)
    cmake -S . -B build-win32-x64-mingw -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/x86_64-w64-mingw32.cmake" ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER=ccache} "$@" >/dev/null
    cmake --build build-win32-x64-mingw --parallel 2 --target wenxin_kernel_tests wenxin_platform_tests
    ;;
  *)
    echo "unknown target $target (linux-arm64-gnu or win32-x64-mingw)" >&2
    exit 2
    ;;
esac
