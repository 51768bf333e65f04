// The benchmarks' model: random weights in the ERNIE-4.5-0.3B shape, q4 (what `wenxin quantize`
// writes), built once with @wenxin/bench under <repo>/.bench (the same cache `pnpm bench` uses).
import { existsSync } from "node:fs";
import path from "node:path";

import { REPO_ROOT } from "./bench_client.mjs";

/** The released ERNIE-4.5-0.3B-PT config.json. */
const ERNIE_03B = {
  hidden_act: "silu",
  max_position_embeddings: 131072,
  rope_theta: 500000,
  rms_norm_eps: 0.00001,
  use_bias: false,
  pad_token_id: 0,
  bos_token_id: 1,
  eos_token_id: 2,
  vocab_size: 103424,
  torch_dtype: "bfloat16",
  use_cache: false,
  architectures: ["Ernie4_5ForCausalLM"],
  model_type: "ernie4_5",
  hidden_size: 1024,
  intermediate_size: 3072,
  num_hidden_layers: 18,
  num_attention_heads: 16,
  num_key_value_heads: 2,
  head_dim: 128,
  tie_word_embeddings: true,
};

/** `given` if set, else the cached q4 model, built first when absent (a few minutes, ~0.9 GB). */
export async function resolveBenchModel(given, log = () => {}) {
  if (given) return path.resolve(given);
  const cache = path.join(REPO_ROOT, ".bench");
  const q4 = path.join(cache, "ERNIE-4.5-0.3B", "hf-q4");
  if (existsSync(path.join(q4, "model.safetensors"))) return q4;
  log(`building a random-weight ERNIE-4.5-0.3B checkpoint under ${cache} (once)`);
  const { buildRandomModel } = await import("@wenxin/bench");
  const { quantizeModel } = await import("@wenxin/engine");
  const fixture = path.join(REPO_ROOT, "test/fixtures/ernie45/tiny-ernie45-dense");
  const { hfDir } = await buildRandomModel("ERNIE-4.5-0.3B", ERNIE_03B, cache, fixture, []);
  const { withProgress } = await import("@wenxin/engine/internal");
  await withProgress(`quantizing ${hfDir} to q4`, () => quantizeModel(hfDir, q4, { weights: "q4" }));
  return q4;
}
