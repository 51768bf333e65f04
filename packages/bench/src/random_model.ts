/**
 * Random-weight ERNIE 4.5 checkpoints of the released shapes, written twice from the same values:
 * as a Hugging Face directory (bf16 safetensors, for wenxin.js) and as GGUF (F16 / Q8_0 / Q4_0, every
 * 2-D weight in that type, for llama.cpp). Values come from a seeded generator per tensor name.
 */
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";

import { toBf16Bits, fromBf16Bits } from "./half.js";
import { writeGguf, type GgufTensor, type GgufTensorType, type GgufValue } from "./gguf_writer.js";

export interface HfConfig {
  architectures: string[];
  model_type: string;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim?: number;
  vocab_size: number;
  rope_theta?: number;
  rms_norm_eps?: number;
  tie_word_embeddings?: boolean;
  max_position_embeddings?: number;
  moe_num_experts?: number;
  moe_k?: number;
  moe_intermediate_size?: number;
  moe_num_shared_experts?: number;
  moe_layer_start_index?: number;
  moe_layer_interval?: number;
  [k: string]: unknown;
}

interface TensorSpec {
  hf: string;
  gguf: string;
  shape: number[]; // PyTorch order
  kind: "matrix" | "norm" | "router" | "bias";
  /** GGUF stacks experts of a layer into one 3-D tensor: these are its parts, expert order. */
  parts?: string[];
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Deterministic values for one tensor, already rounded to bf16 so every format starts from the same numbers. */
export function tensorValues(name: string, numel: number, kind: TensorSpec["kind"]): Float32Array {
  const out = new Float32Array(numel);
  if (kind === "norm") return out.fill(1);
  let s = hash(name) || 1;
  const scale = kind === "router" ? 0.1 : kind === "bias" ? 0.01 : 0.04;
  for (let i = 0; i < numel; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    const u = s / 4294967296 - 0.5; // uniform(-0.5, 0.5)
    out[i] = fromBf16Bits(toBf16Bits(u * 2 * scale));
  }
  return out;
}

function isMoeLayer(c: HfConfig, l: number): boolean {
  const e = c.moe_num_experts ?? 0;
  return e > 0 && l >= (c.moe_layer_start_index ?? 1) && (l + 1) % (c.moe_layer_interval ?? 1) === 0;
}

export function tensorSpecs(c: HfConfig): TensorSpec[] {
  const H = c.hidden_size, d = c.head_dim ?? H / c.num_attention_heads;
  const q = c.num_attention_heads * d, kv = c.num_key_value_heads * d;
  const specs: TensorSpec[] = [
    { hf: "model.embed_tokens.weight", gguf: "token_embd.weight", shape: [c.vocab_size, H], kind: "matrix" },
    { hf: "model.norm.weight", gguf: "output_norm.weight", shape: [H], kind: "norm" },
  ];
  if (c.tie_word_embeddings === false) specs.push({ hf: "lm_head.weight", gguf: "output.weight", shape: [c.vocab_size, H], kind: "matrix" });
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`, g = `blk.${l}.`;
    specs.push(
      { hf: p + "input_layernorm.weight", gguf: g + "attn_norm.weight", shape: [H], kind: "norm" },
      { hf: p + "self_attn.q_proj.weight", gguf: g + "attn_q.weight", shape: [q, H], kind: "matrix" },
      { hf: p + "self_attn.k_proj.weight", gguf: g + "attn_k.weight", shape: [kv, H], kind: "matrix" },
      { hf: p + "self_attn.v_proj.weight", gguf: g + "attn_v.weight", shape: [kv, H], kind: "matrix" },
      { hf: p + "self_attn.o_proj.weight", gguf: g + "attn_output.weight", shape: [H, q], kind: "matrix" },
      { hf: p + "post_attention_layernorm.weight", gguf: g + "ffn_norm.weight", shape: [H], kind: "norm" },
    );
    if (!isMoeLayer(c, l)) {
      const I = c.intermediate_size;
      specs.push(
        { hf: p + "mlp.gate_proj.weight", gguf: g + "ffn_gate.weight", shape: [I, H], kind: "matrix" },
        { hf: p + "mlp.up_proj.weight", gguf: g + "ffn_up.weight", shape: [I, H], kind: "matrix" },
        { hf: p + "mlp.down_proj.weight", gguf: g + "ffn_down.weight", shape: [H, I], kind: "matrix" },
      );
      continue;
    }
    const E = c.moe_num_experts!, MI = c.moe_intermediate_size!, S = MI * (c.moe_num_shared_experts ?? 0);
    specs.push(
      { hf: p + "mlp.gate.weight", gguf: g + "ffn_gate_inp.weight", shape: [E, H], kind: "router" },
      { hf: p + "mlp.moe_statics.e_score_correction_bias", gguf: g + "exp_probs_b.bias", shape: [1, E], kind: "bias" },
    );
    for (const [proj, gg, shape] of [
      ["gate_proj", "ffn_gate_exps", [MI, H]],
      ["up_proj", "ffn_up_exps", [MI, H]],
      ["down_proj", "ffn_down_exps", [H, MI]],
    ] as const) {
      const parts = Array.from({ length: E }, (_, e) => `${p}mlp.experts.${e}.${proj}.weight`);
      specs.push({ hf: "", gguf: `${g}${gg}.weight`, shape: [E, ...shape], kind: "matrix", parts });
    }
    if (S > 0)
      specs.push(
        { hf: p + "mlp.shared_experts.gate_proj.weight", gguf: g + "ffn_gate_shexp.weight", shape: [S, H], kind: "matrix" },
        { hf: p + "mlp.shared_experts.up_proj.weight", gguf: g + "ffn_up_shexp.weight", shape: [S, H], kind: "matrix" },
        { hf: p + "mlp.shared_experts.down_proj.weight", gguf: g + "ffn_down_shexp.weight", shape: [H, S], kind: "matrix" },
      );
  }
  return specs;
}

function specValues(s: TensorSpec): Float32Array {
  if (!s.parts) return tensorValues(s.hf, s.shape.reduce((a, b) => a * b, 1), s.kind);
  const per = s.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(per * s.parts.length);
  s.parts.forEach((name, e) => out.set(tensorValues(name, per, s.kind), e * per));
  return out;
}

/** The HF tensors (experts split out), in file order. */
function hfTensors(c: HfConfig): { name: string; shape: number[]; kind: TensorSpec["kind"] }[] {
  const out: { name: string; shape: number[]; kind: TensorSpec["kind"] }[] = [];
  for (const s of tensorSpecs(c)) {
    if (s.parts) for (const name of s.parts) out.push({ name, shape: s.shape.slice(1), kind: s.kind });
    else out.push({ name: s.hf, shape: s.shape, kind: s.kind });
  }
  return out;
}

function writeSafetensorsStreaming(file: string, c: HfConfig): void {
  const tensors = hfTensors(c);
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const dtype = t.kind === "router" || t.kind === "bias" ? "F32" : "BF16";
    const bytes = n * (dtype === "F32" ? 4 : 2);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(file, "w");
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    writeSync(fd, len);
    writeSync(fd, Buffer.from(json));
    for (const t of tensors) {
      const v = tensorValues(t.name, t.shape.reduce((a, b) => a * b, 1), t.kind);
      if (t.kind === "router" || t.kind === "bias") {
        writeSync(fd, Buffer.from(v.buffer));
      } else {
        const b = new Uint16Array(v.length);
        for (let i = 0; i < v.length; i++) b[i] = toBf16Bits(v[i]!);
        writeSync(fd, Buffer.from(b.buffer));
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** A tokenizer.json of `vocab` ids: the fixture tokenizer's pieces plus synthetic ones. */
function synthesizeTokenizer(fixtureDir: string, vocab: number): { json: unknown; pieces: string[] } {
  const tok = JSON.parse(readFileSync(path.join(fixtureDir, "tokenizer.json"), "utf8"));
  const model = tok.model.vocab as Record<string, number>;
  const pieces: string[] = [];
  for (const [p, id] of Object.entries(model)) pieces[id] = p;
  for (const t of tok.added_tokens as { id: number; content: string }[]) pieces[t.id] = t.content;
  for (let id = 0; id < vocab; id++) {
    if (pieces[id] === undefined) {
      pieces[id] = `▁w${id}`;
      model[pieces[id]!] = id;
    }
  }
  return { json: tok, pieces: pieces.slice(0, vocab) };
}

function ggufMetadata(c: HfConfig, pieces: string[], fileType: number): Record<string, GgufValue> {
  const moe = (c.moe_num_experts ?? 0) > 0;
  const arch = moe ? "ernie4_5-moe" : "ernie4_5";
  const d = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  const m: Record<string, GgufValue> = {
    "general.architecture": { type: "string", value: arch },
    "general.name": { type: "string", value: "wenxin-bench random weights" },
    "general.file_type": { type: "u32", value: fileType },
    [`${arch}.context_length`]: { type: "u32", value: c.max_position_embeddings ?? 131072 },
    [`${arch}.embedding_length`]: { type: "u32", value: c.hidden_size },
    [`${arch}.feed_forward_length`]: { type: "u32", value: c.intermediate_size },
    [`${arch}.block_count`]: { type: "u32", value: c.num_hidden_layers },
    [`${arch}.attention.head_count`]: { type: "u32", value: c.num_attention_heads },
    [`${arch}.attention.head_count_kv`]: { type: "u32", value: c.num_key_value_heads },
    [`${arch}.attention.key_length`]: { type: "u32", value: d },
    [`${arch}.attention.value_length`]: { type: "u32", value: d },
    [`${arch}.rope.freq_base`]: { type: "f32", value: c.rope_theta ?? 500000 },
    [`${arch}.attention.layer_norm_rms_epsilon`]: { type: "f32", value: c.rms_norm_eps ?? 1e-5 },
    "tokenizer.ggml.model": { type: "string", value: "llama" },
    "tokenizer.ggml.tokens": { type: "string[]", value: pieces },
    "tokenizer.ggml.scores": { type: "f32[]", value: new Float32Array(pieces.length).map((_, i) => -i) },
    "tokenizer.ggml.token_type": {
      type: "i32[]",
      value: new Int32Array(pieces.length).map((_, i) => (i < 32 ? (i === 0 ? 2 : 3) : i < 288 ? 6 : 1)),
    },
    "tokenizer.ggml.bos_token_id": { type: "u32", value: 1 },
    "tokenizer.ggml.eos_token_id": { type: "u32", value: 2 },
    "tokenizer.ggml.unknown_token_id": { type: "u32", value: 0 },
    "tokenizer.ggml.padding_token_id": { type: "u32", value: 0 },
    "tokenizer.ggml.add_bos_token": { type: "bool", value: false },
    "tokenizer.ggml.add_space_prefix": { type: "bool", value: false },
  };
  if (moe) {
    m[`${arch}.expert_count`] = { type: "u32", value: c.moe_num_experts! };
    m[`${arch}.expert_used_count`] = { type: "u32", value: c.moe_k! };
    m[`${arch}.expert_feed_forward_length`] = { type: "u32", value: c.moe_intermediate_size! };
    m[`${arch}.leading_dense_block_count`] = { type: "u32", value: c.moe_layer_start_index ?? 1 };
    m[`${arch}.interleave_moe_layer_step`] = { type: "u32", value: c.moe_layer_interval ?? 1 };
    m[`${arch}.expert_shared_count`] = { type: "u32", value: c.moe_num_shared_experts ?? 0 };
    if ((c.moe_num_shared_experts ?? 0) > 0)
      m[`${arch}.expert_shared_feed_forward_length`] = { type: "u32", value: c.moe_intermediate_size! * c.moe_num_shared_experts! };
  }
  return m;
}

const FILE_TYPE: Record<GgufTensorType, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 };

export interface BuiltModel {
  hfDir: string;
  gguf: Partial<Record<GgufTensorType, string>>;
}

/**
 * Writes (or reuses) `outDir/<name>/hf` and `outDir/<name>/<type>.gguf` for `config`.
 * `fixtureDir` supplies the tokenizer files that the synthetic vocabulary extends.
 */
export function buildRandomModel(name: string, config: HfConfig, outDir: string, fixtureDir: string, ggufTypes: GgufTensorType[]): BuiltModel {
  const root = path.join(outDir, name);
  const hfDir = path.join(root, "hf");
  mkdirSync(hfDir, { recursive: true });
  const stamp = JSON.stringify(config);
  const stampFile = path.join(root, "config.stamp");
  const fresh = !existsSync(stampFile) || readFileSync(stampFile, "utf8") !== stamp;
  const { json, pieces } = synthesizeTokenizer(fixtureDir, config.vocab_size);
  if (fresh || !existsSync(path.join(hfDir, "model.safetensors"))) {
    writeFileSync(path.join(hfDir, "config.json"), JSON.stringify(config, null, 1));
    writeFileSync(path.join(hfDir, "tokenizer.json"), JSON.stringify(json));
    copyFileSync(path.join(fixtureDir, "tokenizer_config.json"), path.join(hfDir, "tokenizer_config.json"));
    copyFileSync(path.join(fixtureDir, "generation_config.json"), path.join(hfDir, "generation_config.json"));
    writeSafetensorsStreaming(path.join(hfDir, "model.safetensors"), config);
  }
  const gguf: BuiltModel["gguf"] = {};
  for (const type of ggufTypes) {
    const file = path.join(root, `${type}.gguf`);
    if (fresh || !existsSync(file)) {
      const tensors: GgufTensor[] = tensorSpecs(config).map((s) => ({
        name: s.gguf,
        shape: s.kind === "bias" ? [s.shape.at(-1)!] : s.shape,
        // every 2-D weight in the named type (the tied embedding included); norms, router and bias in F32
        type: s.kind === "matrix" ? type : "F32",
        values: () => specValues(s),
      }));
      writeGguf(file, ggufMetadata(config, pieces, FILE_TYPE[type]), tensors);
    }
    gguf[type] = file;
  }
  writeFileSync(stampFile, stamp);
  return { hfDir, gguf };
}
