#!/usr/bin/env bash
# Every fuzz target for a fixed time (`pnpm fuzz`): the libFuzzer targets (native/fuzz/run.sh) and
# the TypeScript mutation fuzzer (test/fuzz). Arguments: seconds per native target (default 20),
# seconds per TypeScript target (default 10). Fails on any finding.
set -euo pipefail
cd "$(dirname "$0")/../.."
native_seconds="${1:-20}"
ts_seconds="${2:-10}"
status=0
native/fuzz/run.sh "$native_seconds" || status=1
FUZZ_SECONDS="$ts_seconds" node_modules/.bin/vitest run --config test/fuzz/vitest.config.ts || status=1
exit $status
