#!/usr/bin/env bash
# The sanitizer run (`pnpm test:asan`): builds the addon and the native test programs with
# AddressSanitizer + UndefinedBehaviorSanitizer into native/build-asan (the normal build is left
# alone), then runs under them the native kernel tests, the fuzz replayers over their seeds and
# regressions, and the golden and hardening tests through Node with the sanitized addon.
# Node itself is not instrumented: the ASan runtime is preloaded and leak checks are off (Node
# keeps memory alive at exit on purpose).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# Only the targets this script runs (not the platform and scheduler tests or the kernel benchmark,
# which `pnpm test` runs unsanitized): the sanitized build is the slowest of the builds.
targets=(wenxin_native wenxin_kernel_tests wenxin_thread_pool_tests)
for f in native/fuzz/fuzz_*.cpp; do t=$(basename "$f" .cpp); targets+=("wenxin_replay_${t#fuzz_}"); done
(cd native && pnpm exec cmake-js configure --config Release --out build-asan --CDWENXIN_SANITIZE=ON >/dev/null)
cmake --build native/build-asan --config Release --target "${targets[@]}" >/dev/null
bin=native/build-asan/tests
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1

echo "asan: native kernel tests"
ASAN_OPTIONS=detect_leaks=1 "$bin/wenxin_kernel_tests" | tail -1
echo "asan: thread pool tests"
ASAN_OPTIONS=detect_leaks=1 "$bin/wenxin_thread_pool_tests" | tail -1
echo "asan: fuzz replayers"
for f in native/fuzz/fuzz_*.cpp; do
  t=$(basename "$f" .cpp); t=${t#fuzz_}
  inputs=("native/fuzz/corpus/$t")
  [ -d "native/fuzz/regressions/$t" ] && inputs+=("native/fuzz/regressions/$t")
  ASAN_OPTIONS=detect_leaks=1 "$bin/wenxin_replay_$t" "${inputs[@]}"
done

echo "asan: golden and hardening tests through the sanitized addon"
# Every native path the goldens reach: dense + MoE forward (logits, hidden states, router),
# greedy and sampled generation, quantized load, LoRA, constrained decoding, load errors. The one
# long sweep (60 generated schemas x 3 samplings, ~70 s sanitized) repeats paths the others cover.
LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
WENXIN_NATIVE_PATH="$root/native/build-asan/Release/wenxin_native.node" \
  node_modules/.bin/vitest run \
    packages/engine/test/engine/goldens.int.test.ts \
    packages/engine/test/engine/checkpoint_variants.int.test.ts \
    packages/engine/test/engine/generate.int.test.ts \
    packages/engine/test/engine/sampling.int.test.ts \
    packages/engine/test/engine/lora.int.test.ts \
    packages/engine/test/engine/errors.int.test.ts \
    packages/engine/test/engine/engine_faults.int.test.ts \
    packages/engine/test/engine/adapter_reload.int.test.ts \
    packages/engine/test/engine/nonfinite_logits.int.test.ts \
    packages/engine/test/model/quantize.int.test.ts \
    packages/engine/test/generation/grammar_match.int.test.ts \
    packages/engine/test/generation/constrained_generation.int.test.ts \
    packages/engine/test/generation/lazy_trigger.int.test.ts \
    test/hardening -t '^(?!.*60 generated JSON schemas)' "$@"
