import path from "node:path";

import { z } from "zod";

import { WenxinError } from "../errors.js";
import { readJsonFile } from "../json_file.js";
import type { NativeHparams } from "../native/addon_types.js";
import { parseOrThrow } from "../parse_or_throw.js";

/** Architecture classes we run, and the model_type each implies. */
const ARCHITECTURES: Record<string, NativeHparams["modelType"]> = {
  Ernie4_5ForCausalLM: "ernie4_5",
  Ernie4_5_ForCausalLM: "ernie4_5", // Baidu's remote-code class name
  Ernie4_5_MoeForCausalLM: "ernie4_5_moe",
};

const positiveInt = z.number().int().positive();
const eosIds = z.union([z.number().int(), z.array(z.number().int())]).optional();

/** config.json as transformers 4.x and 5.x write it for ERNIE 4.5 (unknown keys are allowed and ignored). */
export const ernieConfigSchema = z
  .object({
    architectures: z.array(z.string()).optional(),
    model_type: z.string().optional(),
    hidden_size: positiveInt,
    intermediate_size: positiveInt,
    num_hidden_layers: positiveInt,
    num_attention_heads: positiveInt,
    num_key_value_heads: positiveInt.nullish(),
    head_dim: positiveInt.nullish(),
    vocab_size: positiveInt,
    max_position_embeddings: positiveInt.default(131072),
    rope_theta: z.number().positive().optional(),
    rope_parameters: z
      .object({ rope_type: z.string().optional(), rope_theta: z.number().positive().optional() })
      .passthrough()
      .nullish(),
    rope_scaling: z.unknown().optional(),
    rms_norm_eps: z.number().positive().default(1e-5),
    hidden_act: z.string().default("silu"),
    use_bias: z.boolean().default(false),
    tie_word_embeddings: z.boolean().default(true),
    compression_ratio: z.number().optional(),
    bos_token_id: z.number().int().nullish(),
    eos_token_id: eosIds.nullable(),
    pad_token_id: z.number().int().nullish(),
    moe_num_experts: z.number().int().nonnegative().nullish(),
    moe_k: z.number().int().nonnegative().nullish(),
    moe_intermediate_size: z.number().int().nonnegative().nullish(),
    moe_num_shared_experts: z.number().int().nonnegative().nullish(),
    moe_layer_start_index: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
    moe_layer_end_index: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
    moe_layer_interval: z.number().int().positive().nullish(),
    moe_norm_min: z.number().nonnegative().nullish(),
  })
  .passthrough();

export type ErnieConfigJson = z.infer<typeof ernieConfigSchema>;

/** The validated model description the engine runs on. */
export interface ModelConfig {
  architecture: string;
  hparams: NativeHparams;
  eosTokenIds: number[];
  bosTokenId?: number;
  padTokenId?: number;
}

function firstInt(v: number | number[] | null | undefined, fallback: number): number {
  if (Array.isArray(v)) return v[0] ?? fallback;
  return v ?? fallback;
}

function invalid(message: string, details: { expected?: unknown; actual?: unknown; subject?: string } = {}): never {
  throw new WenxinError("ERR_WENXIN_INVALID_CONFIG", message, details);
}

/** Turns a parsed config.json into hyper-parameters, rejecting what the engine cannot run. */
export function parseModelConfig(raw: unknown, source = "config.json"): ModelConfig {
  const c = parseOrThrow(ernieConfigSchema, raw, source, "ERR_WENXIN_INVALID_CONFIG");
  const arch = c.architectures?.[0];
  const modelType =
    (arch && ARCHITECTURES[arch]) ??
    (c.model_type === "ernie4_5" || c.model_type === "ernie4_5_moe" ? c.model_type : undefined);
  if (!modelType) {
    throw new WenxinError(
      "ERR_WENXIN_UNKNOWN_ARCHITECTURE",
      `${source}: unknown architecture '${arch ?? c.model_type ?? "(none)"}'; expected one of ${Object.keys(ARCHITECTURES).join(", ")}`,
      { expected: Object.keys(ARCHITECTURES), actual: arch ?? c.model_type },
    );
  }
  if (c.hidden_act !== "silu")
    invalid(`${source}: hidden_act '${c.hidden_act}' is not supported (ERNIE 4.5 uses silu)`, {
      expected: "silu",
      actual: c.hidden_act,
    });
  const ropeType = c.rope_parameters?.rope_type;
  if ((ropeType && ropeType !== "default") || (c.rope_scaling !== undefined && c.rope_scaling !== null))
    invalid(`${source}: RoPE scaling is not supported (rope_type ${ropeType ?? JSON.stringify(c.rope_scaling)})`);
  if (c.compression_ratio !== undefined && c.compression_ratio !== 1)
    invalid(`${source}: compression_ratio ${c.compression_ratio} is not supported (only 1.0)`);

  const numKv = c.num_key_value_heads ?? c.num_attention_heads;
  const headDim = c.head_dim ?? Math.floor(c.hidden_size / c.num_attention_heads);
  if (c.num_attention_heads % numKv !== 0)
    invalid(`${source}: num_key_value_heads ${numKv} does not divide num_attention_heads ${c.num_attention_heads}`);
  const experts = modelType === "ernie4_5_moe" ? (c.moe_num_experts ?? 64) : 0;
  const hparams: NativeHparams = {
    modelType,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numHiddenLayers: c.num_hidden_layers,
    numAttentionHeads: c.num_attention_heads,
    numKeyValueHeads: numKv,
    headDim,
    vocabSize: c.vocab_size,
    maxPositionEmbeddings: c.max_position_embeddings,
    ropeTheta: c.rope_parameters?.rope_theta ?? c.rope_theta ?? 500000,
    rmsNormEps: c.rms_norm_eps,
    useBias: c.use_bias,
    tieWordEmbeddings: c.tie_word_embeddings,
    moeNumExperts: experts,
    moeK: experts ? (c.moe_k ?? 6) : 0,
    moeIntermediateSize: experts ? (c.moe_intermediate_size ?? 1536) : 0,
    moeNumSharedExperts: experts ? (c.moe_num_shared_experts ?? 0) : 0,
    // Older configs give start/end as lists (one per modality); the text model uses the first.
    moeLayerStartIndex: experts ? firstInt(c.moe_layer_start_index, 1) : 0,
    moeLayerEndIndex: experts ? firstInt(c.moe_layer_end_index, -1) : -1,
    moeLayerInterval: experts ? (c.moe_layer_interval ?? 1) : 1,
    moeNormMin: c.moe_norm_min ?? 1e-12,
  };
  const eos = c.eos_token_id;
  return {
    architecture: arch ?? modelType,
    hparams,
    eosTokenIds: eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos],
    bosTokenId: c.bos_token_id ?? undefined,
    padTokenId: c.pad_token_id ?? undefined,
  };
}

export async function loadModelConfig(dir: string): Promise<ModelConfig> {
  const file = path.join(dir, "config.json");
  return parseModelConfig(await readJsonFile(file), file);
}
