#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, in native/build-fuzz) and runs each for a fixed
# time, starting from the committed seeds (fuzz/corpus/<target>) plus what earlier runs found.
#   native/fuzz/run.sh [seconds per target, default 20] [target ...]
# Prints one line per target: executions, edge coverage, features, corpus size, crashes. A crash
# leaves its input in native/build-fuzz/findings/ and makes the script fail: turn it into a
# regression input under native/fuzz/regressions/<target>/ once fixed. FUZZ_BUILD_ONLY=1: build, run nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
shift || true
targets=("$@")
# Every fuzz/fuzz_<target>.cpp unless targets are named.
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.cpp; do t=$(basename "$f" .cpp); targets+=("${t#fuzz_}"); done
fi

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ is not installed (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build-fuzz "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++ -DWENXIN_FUZZ=ON >/dev/null
cmake --build build-fuzz --target $(printf 'wenxin_fuzz_%s ' "${targets[@]}") >/dev/null
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

mkdir -p build-fuzz/findings
failed=0
printf '%-20s %12s %10s %8s %8s %8s %8s\n' target executions exec/s cov ft corpus crashes
for t in "${targets[@]}"; do
  work="build-fuzz/corpus/$t"
  mkdir -p "$work"
  log="build-fuzz/findings/$t.log"
  rm -f build-fuzz/findings/"$t"-*
  status=0
  regressions=()
  [ -d "fuzz/regressions/$t" ] && regressions=("fuzz/regressions/$t")
  ASAN_OPTIONS=detect_leaks=1 "build-fuzz/fuzz/wenxin_fuzz_$t" "$work" "fuzz/corpus/$t" "${regressions[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/findings/$t-" >"$log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  # (no such line when the run died while loading the corpus, e.g. a seed past -timeout: report it below)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || echo 0)
  ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || echo 0)
  corp=$(echo "$last" | grep -o 'corp: [0-9]*' | grep -o '[0-9]*' || echo 0)
  crashes=$(ls build-fuzz/findings/ | grep -c "^$t-" || true)
  printf '%-20s %12s %10s %8s %8s %8s %8s\n' "$t" "$execs" "$rate" "$cov" "$ft" "$corp" "$crashes"
  if [ "$status" -ne 0 ]; then
    failed=1
    echo "--- $t failed (exit $status); its report:" >&2
    grep -E -A 30 '^==[0-9]+==ERROR|runtime error|deadly signal|timeout' "$log" | head -60 >&2 || tail -30 "$log" >&2
  fi
done
exit $failed
