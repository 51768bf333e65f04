// Shared by every package's tests: where the ERNIE 4.5 fixtures live and how to read the goldens.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { decodeTensorF32, parseSafetensorsBuffer } from "../../packages/engine/src/model/safetensors_file.js";

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/ernie45");
export const DENSE_DIR = path.join(FIXTURES, "tiny-ernie45-dense");
export const MOE_DIR = path.join(FIXTURES, "tiny-ernie45-moe");
export const LORA_DIR = path.join(FIXTURES, "tiny-ernie45-dense-lora");

export interface GoldenTensor {
  shape: number[];
  data: Float32Array;
}

/** Reads the float32 tensors of a golden safetensors file. */
export function readSafetensors(file: string): Map<string, GoldenTensor> {
  const { header, bytes } = parseSafetensorsBuffer(file, readFileSync(file));
  const out = new Map<string, GoldenTensor>();
  for (const t of header.tensors.values()) {
    if (t.dtype !== "F32") throw new Error(`golden tensor ${t.name} is ${t.dtype}, expected F32`);
    out.set(t.name, { shape: t.shape, data: decodeTensorF32(file, t, bytes(t)) });
  }
  return out;
}

export interface GoldenPrompt {
  input_ids: number[];
  logits_positions?: number[];
  greedy_new_ids: number[];
  greedy_text: string;
  min_top2_margin: number;
  top5_per_step: { ids: number[]; logits: number[] }[];
}

export interface Golden {
  json: { prompts: Record<string, GoldenPrompt>; n_hidden_states?: number };
  tensors: Map<string, GoldenTensor>;
}

export function loadGolden(model: "tiny-ernie45-dense" | "tiny-ernie45-moe" | "tiny-ernie45-dense-lora"): Golden {
  const dir = path.join(FIXTURES, "golden", model);
  return {
    json: JSON.parse(readFileSync(path.join(dir, "golden.json"), "utf8")),
    tensors: readSafetensors(path.join(dir, "golden.safetensors")),
  };
}

/** One case of tokenizer-cases.json: transformers' encoding and decodings of `text`. */
export interface TokenizerCase {
  text: string;
  ids: number[];
  tokens: string[];
  decoded: string;
  decoded_skip_special: string;
}

/** tokenizer-cases.json: the fixture vocabulary's size and special ids, and the cases. */
export function loadTokenizerCases(): {
  vocab: { size: number; special_ids: Record<string, number> };
  cases: TokenizerCase[];
} {
  return JSON.parse(readFileSync(path.join(FIXTURES, "tokenizer-cases.json"), "utf8"));
}

/** One case of chat-template-cases.json: transformers' rendering of `messages` and its ids. */
export interface ChatTemplateCase {
  name: string;
  messages: { role: "system" | "user" | "assistant" | "tool"; content: string }[];
  add_generation_prompt: boolean;
  text: string;
  ids: number[];
}

/** chat-template-cases.json: the template the cases were rendered with, and the cases. */
export function loadChatTemplateCases(): { template: string; cases: ChatTemplateCase[] } {
  return JSON.parse(readFileSync(path.join(FIXTURES, "chat-template-cases.json"), "utf8"));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, aOffset = 0, bOffset = 0, n = b.length): number {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(a[aOffset + i]! - b[bOffset + i]!));
  return m;
}

/** Relative L2 distance of a from b: ‖a − b‖ / ‖b‖. */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0,
    n = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

export function argmax(a: ArrayLike<number>, offset = 0, n = a.length - offset): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[offset + i]! > a[offset + best]!) best = i;
  return best;
}

/** A LoRA training golden of finetune/ (see the fixtures README): its recipe, batch and expected numbers. */
export interface FinetuneCase {
  dir: string;
  baseDir: string;
  json: {
    base_model: string;
    lora: { r: number; lora_alpha: number; target_modules: string[] };
    optimizer: { lr: number; betas: [number, number]; eps: number; weight_decay: number; max_grad_norm: number };
    examples: {
      messages: { role: "system" | "user" | "assistant"; content: string }[];
      input_ids: number[];
      labels: number[];
    }[];
    batch: { input_ids: number[][]; attention_mask: number[][]; labels: number[][]; pad_token_id: number };
    single_example_losses_initial: number[];
    losses: number[];
    grad_norms_before_clip: number[];
  };
}

export function loadFinetuneCase(name: "dense-qv" | "dense-all" | "moe-attn-mlp"): FinetuneCase {
  const dir = path.join(FIXTURES, "finetune", name);
  const json = JSON.parse(readFileSync(path.join(dir, "golden.json"), "utf8")) as FinetuneCase["json"];
  return { dir, baseDir: path.join(FIXTURES, json.base_model), json };
}
