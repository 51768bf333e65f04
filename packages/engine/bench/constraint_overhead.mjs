// Decode speed with and without a JSON-schema constraint, on a random-weight model of the
// ERNIE-4.5-0.3B shape (hidden 1024, 18 layers, vocabulary 103424).
//
//   pnpm exec turbo run build --filter @wenxin/engine...
//   node packages/engine/bench/constraint_overhead.mjs [--tokens 160] [--runs 3] [--threads N]
//
// The checkpoint is built once under .bench/ (about 0.7 GB): config.json from the released
// ERNIE-4.5-0.3B-PT config, random bf16 weights, and a 103424-token tokenizer.json made from the
// tiny fixture tokenizer (8000 pieces, its specials and byte pieces) plus synthetic BPE merges of
// existing pieces until the vocabulary has 103424 entries.
import { execSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Engine } from "../dist/index.js";
import { Random, checkpointTensors, encodeSafetensorsHeader, parseModelConfig } from "../dist/internal.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../..");
const fixture = path.join(repo, "test/fixtures/ernie45/tiny-ernie45-dense");
const args = Object.fromEntries(
  process.argv
    .slice(2)
    .join(" ")
    .split("--")
    .filter(Boolean)
    .map((a) => a.trim().split(/\s+/)),
);
const TOKENS = Number(args.tokens ?? 160);
const RUNS = Number(args.runs ?? 3);
const THREADS = Number(args.threads ?? os.availableParallelism());
const VOCAB = 103424;

// The released ERNIE-4.5-0.3B-PT config (as in /work/shared/configs/ERNIE-4.5-0.3B-PT.json).
const CONFIG = {
  architectures: ["Ernie4_5ForCausalLM"],
  model_type: "ernie4_5",
  hidden_size: 1024,
  intermediate_size: 3072,
  num_hidden_layers: 18,
  num_attention_heads: 16,
  num_key_value_heads: 2,
  head_dim: 128,
  vocab_size: VOCAB,
  max_position_embeddings: 131072,
  rope_theta: 500000.0,
  rms_norm_eps: 1e-5,
  hidden_act: "silu",
  use_bias: false,
  tie_word_embeddings: true,
  pad_token_id: 0,
  bos_token_id: 1,
  eos_token_id: 2,
  torch_dtype: "bfloat16",
  use_cache: false,
};

function rng(seed) {
  const r = new Random(seed);
  return () => r.uniform();
}

/** bf16 bits of `n` values uniform in ±scale (or all 1.0 for norms). */
function bf16(n, scale, r) {
  const f = new Float32Array(n);
  if (scale === 0) f.fill(1);
  else for (let i = 0; i < n; i++) f[i] = (r() * 2 - 1) * scale;
  const u = new Uint16Array(f.buffer);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = u[2 * i + 1];
  return out;
}

async function writeWeights(file) {
  // the engine's ERNIE layout and safetensors header writer; values: bf16 uniform in ±1/sqrt(fan-in), norms 1
  const tensors = checkpointTensors(parseModelConfig(CONFIG, "bench config").hparams).map((t) => ({
    ...t,
    dtype: "BF16",
    byteLength: t.shape.reduce((a, b) => a * b, 1) * 2,
  }));
  const out = createWriteStream(file);
  const write = (buf) => new Promise((res) => (out.write(buf) ? res() : out.once("drain", res)));
  await write(encodeSafetensorsHeader(tensors).header);
  const r = rng(1);
  for (const { shape } of tensors) {
    const n = shape.reduce((a, b) => a * b, 1);
    const scale = shape.length === 1 ? 0 : 1 / Math.sqrt(shape[1]);
    await write(Buffer.from(bf16(n, scale, r).buffer));
  }
  await new Promise((res) => out.end(res));
}

/** The fixture tokenizer grown to VOCAB pieces by merging random pairs of existing pieces (short ones more often). */
function writeTokenizer(dir) {
  const tok = JSON.parse(readFileSync(path.join(fixture, "tokenizer.json"), "utf8"));
  const vocab = tok.model.vocab;
  const pieces = Object.keys(vocab).filter((p) => !/^<.*>$/.test(p));
  const r = rng(2);
  let next = Object.keys(vocab).length;
  const pick = () => pieces[Math.floor(Math.pow(r(), 2) * pieces.length)]; // earlier (more frequent) pieces more often
  while (next < VOCAB) {
    const a = pick();
    const b = pick();
    const m = a + b;
    if (m.length > 16 || m in vocab) continue;
    vocab[m] = next++;
    tok.model.merges.push([a, b]);
    pieces.push(m);
  }
  writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tok));
}

async function ensureModel() {
  const dir = path.join(repo, ".bench", "ernie45-0.3b-random");
  if (existsSync(path.join(dir, "model.safetensors"))) return dir;
  mkdirSync(dir, { recursive: true });
  console.log(`building ${dir} (random bf16 weights, synthetic ${VOCAB}-token tokenizer)…`);
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(CONFIG, null, 1));
  for (const f of ["tokenizer_config.json", "generation_config.json"])
    writeFileSync(path.join(dir, f), readFileSync(path.join(fixture, f)));
  writeTokenizer(dir);
  await writeWeights(path.join(dir, "model.safetensors"));
  return dir;
}

// A nested tool call: the tool name, then arguments with a nested object, an array of objects,
// enums, bounded integers, dates and free strings.
const TOOL_SCHEMA = {
  type: "object",
  properties: {
    name: { const: "book_trip" },
    arguments: {
      type: "object",
      properties: {
        traveler: {
          type: "object",
          properties: {
            name: { type: "string" },
            age: { type: "integer", minimum: 0, maximum: 120 },
            loyalty: { enum: ["none", "silver", "gold"] },
          },
          required: ["name", "age"],
          additionalProperties: false,
        },
        legs: {
          type: "array",
          items: {
            type: "object",
            properties: {
              from: { type: "string" },
              to: { type: "string" },
              date: { type: "string", format: "date" },
              cabin: { enum: ["economy", "business"] },
            },
            required: ["from", "to", "date"],
            additionalProperties: false,
          },
          minItems: 1,
          maxItems: 4,
        },
        budget: { type: ["number", "null"] },
        notes: { type: "string" },
        refundable: { type: "boolean" },
      },
      required: ["traveler", "legs"],
      additionalProperties: false,
    },
  },
  required: ["name", "arguments"],
  additionalProperties: false,
};

/** The same schema with every free string limited to 12 characters, so the output walks more structure. */
const BOUNDED_SCHEMA = JSON.parse(JSON.stringify(TOOL_SCHEMA), (k, v) =>
  v && v.type === "string" && !v.format ? { ...v, maxLength: 12 } : v,
);

/**
 * Decode speed of one run, after the first token: tokens per wall-clock second, and CPU
 * milliseconds of this process per token (steadier than wall time when other work shares the CPUs).
 */
async function decodeRate(engine, options) {
  let first = 0;
  let last = 0;
  let cpuFirst;
  let cpuLast;
  let n = 0;
  let result;
  for await (const ev of engine.generate(options)) {
    const now = performance.now();
    if (ev.type === "token") {
      if (n === 0) {
        first = now;
        cpuFirst = process.cpuUsage();
      }
      n += ev.tokenIds.length;
      last = now;
      cpuLast = process.cpuUsage(cpuFirst);
    } else result = ev;
  }
  const cpuMs = (cpuLast.user + cpuLast.system) / 1000;
  return { tps: (n - 1) / ((last - first) / 1000), cpuMsPerToken: cpuMs / (n - 1), tokens: n, result };
}

const cpu = (() => {
  try {
    return execSync("lscpu", { encoding: "utf8" })
      .split("\n")
      .filter((l) => /Model name|^CPU\(s\)|Thread\(s\)|Flags/.test(l))
      .map((l) => l.replace(/\s+/g, " ").slice(0, 140))
      .join("\n");
  } catch {
    return os.cpus()[0]?.model ?? "unknown";
  }
})();

const dir = await ensureModel();
const engine = await Engine.load(dir, { threads: THREADS, maxContext: 1024 });
console.log(`model: ${dir}\nvocabulary: ${engine.tokenizer.vocabSize} tokens, threads: ${THREADS}\n${cpu}\n`);

const prompt = "Book a trip for me.";
// Plain sampling (no top-k/top-p), so that the two runs differ only by the mask.
const base = { prompt, maxNewTokens: TOKENS, temperature: 1, topK: 0, topP: 1, stopTokenIds: [] };
// Warm-up (and the one-time vocabulary upload, measured on its own).
await decodeRate(engine, { ...base, maxNewTokens: 4, seed: 0 });
const t0 = performance.now();
const warm = engine.generate({
  ...base,
  maxNewTokens: 2,
  seed: 0,
  constraint: { type: "json_schema", schema: TOOL_SCHEMA },
});
const setupMs = performance.now() - t0;
await warm.result();

// The engine's constrained-decoding counters (engine.stats()) around one request: its masking cost.
async function constrainedRun(options) {
  const before = engine.stats();
  const run = await decodeRate(engine, options);
  const after = engine.stats();
  const ms = after.constraintMaskMs + after.constraintAdvanceMs - before.constraintMaskMs - before.constraintAdvanceMs;
  return { ...run, masked: { steps: after.constrainedTokens - before.constrainedTokens, ms } };
}

const free = [];
const constrained = [];
const bounded = [];
for (let i = 0; i < RUNS; i++) {
  const seed = 100 + i;
  free.push(await decodeRate(engine, { ...base, seed }));
  constrained.push(await constrainedRun({ ...base, seed, constraint: { type: "json_schema", schema: TOOL_SCHEMA } }));
  bounded.push(await constrainedRun({ ...base, seed, constraint: { type: "json_schema", schema: BOUNDED_SCHEMA } }));
}
await engine.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f = median(free.map((x) => x.tps));
const runs = (xs) => xs.map((x) => `${x.tps.toFixed(2)}×${x.tokens}`).join(", ");
console.log(`first constrained request: compile + vocabulary upload ${setupMs.toFixed(0)} ms (once per engine)`);
const fc = median(free.map((x) => x.cpuMsPerToken));
console.log(
  `unconstrained:          ${f.toFixed(2)} tok/s median (runs: ${runs(free)}), ${fc.toFixed(1)} CPU-ms per token`,
);
for (const [name, xs] of [
  ["tool schema", constrained],
  ["tool schema, maxLength", bounded],
]) {
  const own = xs.map((x) => x.masked);
  const c = median(xs.map((x) => x.tps));
  const cc = median(xs.map((x) => x.cpuMsPerToken));
  const maskUs = (own.reduce((a, s) => a + s.ms, 0) * 1000) / own.reduce((a, s) => a + s.steps, 0);
  console.log(
    `${`${name}:`.padEnd(24)}${c.toFixed(2)} tok/s median (runs: ${runs(xs)}), ${((f / c - 1) * 100).toFixed(1)}% slower by wall time;` +
      ` ${cc.toFixed(1)} CPU-ms per token, ${((cc / fc - 1) * 100).toFixed(1)}% more CPU`,
  );
  console.log(
    `${"".padEnd(24)}masking in the engine: ${(maskUs / 1000).toFixed(3)} ms per token = ${((maskUs / 1000 / (1000 / f)) * 100).toFixed(2)}% of an unconstrained step` +
      ` (${own.map((s) => `${s.steps} steps/${s.ms.toFixed(0)} ms`).join(", ")});` +
      ` complete values ${xs.filter((x) => x.result.constraint.complete && JSON.parse(x.result.constraint.text)).length}/${xs.length}`,
  );
}
console.log(`sample (maxLength): ${bounded[0].result.constraint.text.slice(0, 400)}`);
