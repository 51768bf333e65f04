#!/usr/bin/env bash
# Cross-builds the native engine with Debian's toolchains (README "Platforms"), two jobs:
#   cross_build.sh linux-arm64-gnu [cmake args]  the kernel + platform test programs for Linux arm64 (glibc),
#       with g++-aarch64-linux-gnu: native/build-linux-arm64-gnu/tests/ (the arm64 addon is the prebuilt one,
#       built with zig by scripts/prebuild.mjs)
#   cross_build.sh win32-x64-mingw [cmake args]  the core + kernel test programs for Windows x64, with
#       mingw-w64 (posix threads, static runtime): native/build-win32-x64-mingw/tests/*.exe
# Extra arguments go to cmake (e.g. -DCMAKE_CXX_FLAGS=...). ccache is used when installed.
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
target=${1:?usage: cross_build.sh linux-arm64-gnu|win32-x64-mingw [args]}
shift
case "$target" in
  linux-arm64-gnu) toolchain=aarch64-linux-gnu ;;
  win32-x64-mingw) toolchain=x86_64-w64-mingw32 ;;
  *)
    echo "unknown target $target (linux-arm64-gnu or win32-x64-mingw)" >&2
    exit 2
    ;;
esac
cmake -S . -B "build-$target" -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/$toolchain.cmake" \
  "${launcher[@]}" "$@" >/dev/null
cmake --build "build-$target" --parallel 2 --target wenxin_kernel_tests wenxin_platform_tests
