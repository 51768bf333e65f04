#!/usr/bin/env bash
# Every fuzz target for a fixed time (`pnpm fuzz`): the libFuzzer targets (native/fuzz/run.sh) and
# the TypeScript mutation fuzzer (test/fuzz). Arguments: seconds per native target (default 20),
# seconds per TypeScript target (default 10). Fails on any finding.
# Both fuzzers run one process at a time, so once the native targets are built (on every core) the
# native and the TypeScript runs go side by side, each on its own core of a 2-core machine: each target
# still gets its full time, and the stage takes the longer of the two instead of their sum.
set -euo pipefail
cd "$(dirname "$0")/../.."
native_seconds="${1:-20}"
ts_seconds="${2:-10}"
status=0
FUZZ_BUILD_ONLY=1 native/fuzz/run.sh
ts_log=$(mktemp)
FUZZ_SECONDS="$ts_seconds" node_modules/.bin/vitest run --config test/fuzz/vitest.config.ts >"$ts_log" 2>&1 &
ts_pid=$!
native/fuzz/run.sh "$native_seconds" || status=1
wait "$ts_pid" || status=1
cat "$ts_log"
rm -f "$ts_log"
exit $status
