/**
 * Where a LoRA config puts trainable matrices on a loaded model, by PEFT's rules: target_modules
 * (names, a regex or "all-linear"), exclude_modules, layers_to_transform, rank/alpha patterns, and
 * on ERNIE 4.5 MoE what peft 0.21 + transformers 5 do: gate/up/down_proj targets become the routed
 * experts' fused `gate_up_proj` / `down_proj` parameters (gate_up with twice the rank and alpha),
 * leaving the dense and shared-expert MLPs untouched. The result is also the adapter_config.json
 * that peft writes, so a trained adapter loads back in peft unchanged.
 */
import { loraScaling, type LoraConfig } from "../adapters/lora_config.js";
import {
  expertParameterNames,
  expertParameterTable,
  expertParameterPath,
  expertParameters,
  linearModules,
  type ExpertParameterName,
} from "../adapters/lora_modules.js";
import {
  ALL_LINEAR,
  patternValue,
  selectsModule,
  selectsParameter,
  unmatchedTargets,
} from "../adapters/module_matching.js";
import { WenxinError } from "../errors.js";
import type { ModelConfig } from "../model/config.js";
import type { z } from "zod";
import type { loraOptionsSchema } from "./options.js";

type Hparams = ModelConfig["hparams"];

/** One trainable A/B pair: on a linear layer, or on a fused routed-expert parameter. */
export interface LoraTarget {
  /** Module path ("model.layers.0.self_attn.q_proj") or parameter key ("model.layers.1.mlp.experts.gate_up_proj"). */
  name: string;
  /** The module path under which peft saves its tensors. */
  peftPath: string;
  layer: number;
  rank: number;
  alpha: number;
  scaling: number;
  /** Per expert for a fused parameter: A is [experts·rank, in], B [out, experts·rank]. */
  inFeatures: number;
  outFeatures: number;
  experts: number;
}

function invalid(message: string, subject: string): WenxinError {
  return new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", message, { subject });
}

/** PEFT's LoraConfig (its key names) from the trainer's options. */
export function loraConfigFromOptions(opts: z.output<typeof loraOptionsSchema>, base?: string): LoraConfig {
  return {
    peft_type: "LORA",
    r: opts.r,
    lora_alpha: opts.alpha,
    use_rslora: opts.rslora,
    target_modules: opts.targetModules,
    target_parameters: opts.targetParameters ?? [],
    exclude_modules: opts.excludeModules,
    layers_to_transform: opts.layersToTransform,
    layers_pattern: undefined,
    rank_pattern: opts.rankPattern ?? {},
    alpha_pattern: opts.alphaPattern ?? {},
    task_type: "CAUSAL_LM",
    base_model_name_or_path: base,
  };
}

// peft 0.21's names for the projections that transformers 5 fuses on MoE models: each expert
// projection → the fused parameter that stacks it.
function fusedFrom(): Record<string, ExpertParameterName> {
  const out: Record<string, ExpertParameterName> = {};
  for (const p of expertParameterTable().parameters) for (const part of p.parts) out[part] = p.hf;
  return out;
}

/** A string target_modules as the leaf names it selects (peft resolves them before converting). */
function resolveStringTargets(config: LoraConfig, hp: Hparams): string[] {
  const target = config.target_modules as string;
  const leafs = new Set<string>();
  for (const m of linearModules(hp)) {
    if (m.block === "lm_head" || m.block === "router") continue;
    if (target.toLowerCase() === ALL_LINEAR || selectsModule({ ...config, layers_to_transform: undefined }, m.module))
      leafs.add(m.module.slice(m.module.lastIndexOf(".") + 1));
  }
  return [...leafs];
}

/** peft 0.21's conversion of a config for transformers 5's fused MoE experts (a no-op on dense models). */
export function convertForFusedExperts(config: LoraConfig, hp: Hparams): LoraConfig {
  if (hp.moeNumExperts <= 0) return config;
  const targets = typeof config.target_modules === "string" ? resolveStringTargets(config, hp) : config.target_modules;
  if (targets.some((t) => t === "gate" || t.endsWith(".gate")))
    throw invalid("LoRA on the MoE router (mlp.gate) is not supported: the router stays frozen", "targetModules");
  const remaining: string[] = [];
  const adapted = new Set(config.target_parameters);
  const fused = fusedFrom();
  const gateUp = new Set<string>();
  for (const t of targets) {
    const old = Object.keys(fused).find((o) => t === o || t.endsWith(`.${o}`));
    if (old === undefined) {
      remaining.push(t);
      continue;
    }
    adapted.add(fused[old]!);
    if (fused[old] === "gate_up_proj") gateUp.add(old);
  }
  const rankPattern = { ...config.rank_pattern };
  const alphaPattern = { ...config.alpha_pattern };
  if (gateUp.size === 1)
    throw invalid(
      `gate_proj and up_proj are one fused parameter (mlp.experts.gate_up_proj) on this MoE model: target both or neither`,
      "targetModules",
    );
  if (gateUp.size === 2) {
    // Twice the rank and alpha keep each branch's capacity and alpha / r scale after fusing.
    rankPattern[".*\\.gate_up_proj"] ??= config.r * 2;
    alphaPattern[".*\\.gate_up_proj"] ??= config.lora_alpha * 2;
  }
  return {
    ...config,
    target_modules: remaining,
    target_parameters: [
      ...expertParameterNames().filter((p) => adapted.has(p)),
      ...[...adapted].filter((p) => !expertParameterNames().includes(p)),
    ],
    rank_pattern: rankPattern,
    alpha_pattern: alphaPattern,
  };
}

/** Every trainable pair `config` (already converted) places on the model; a clear error when none or a target misses. */
export function loraTargets(config: LoraConfig, hp: Hparams): LoraTarget[] {
  const modules = linearModules(hp);
  const missed = unmatchedTargets(
    config,
    modules.map((m) => m.module),
  );
  if (missed.length > 0)
    throw invalid(
      `target_modules ${missed.map((t) => `'${t}'`).join(", ")} match no module of the model (it has ${[
        ...new Set(modules.filter((m) => m.supported && m.block !== "expert").map((m) => m.projection)),
      ].join(", ")})`,
      "targetModules",
    );
  const targets: LoraTarget[] = [];
  const rankOf = (key: string) => patternValue(config.rank_pattern, key, "rank_pattern") ?? config.r;
  const alphaOf = (key: string) => patternValue(config.alpha_pattern, key, "alpha_pattern") ?? config.lora_alpha;
  for (const m of modules) {
    if (m.block === "expert" || !selectsModule(config, m.module, m.block === "lm_head")) continue;
    if (!m.supported) throw invalid(`${m.why} (${m.module})`, m.module);
    const rank = rankOf(m.module),
      alpha = alphaOf(m.module);
    targets.push({
      name: m.module,
      peftPath: m.module,
      layer: m.layer!,
      rank,
      alpha,
      scaling: loraScaling(alpha, rank, config.use_rslora),
      inFeatures: m.inFeatures,
      outFeatures: m.outFeatures,
      experts: 1,
    });
  }
  const params = expertParameters(hp);
  const unknown = config.target_parameters.filter(
    (t) => !params.some((p) => selectsParameter({ target_parameters: [t] }, p.key)),
  );
  if (unknown.length > 0)
    throw invalid(
      `target_parameters ${unknown.map((t) => `'${t}'`).join(", ")} match no parameter of the model` +
        (params.length > 0 ? " (mlp.experts.gate_up_proj and mlp.experts.down_proj)" : " (it has no MoE layers)"),
      "targetParameters",
    );
  const adapted = params.filter((p) => selectsParameter(config, p.key));
  // As peft: target_parameters match by name alone (layers_to_transform does not narrow them).
  for (const p of adapted) {
    const inLayer = expertParameterNames().filter((n) => adapted.some((q) => q.layer === p.layer && q.name === n));
    const rank = rankOf(p.key),
      alpha = alphaOf(p.key);
    targets.push({
      name: p.key,
      peftPath: expertParameterPath(p.key, inLayer),
      layer: p.layer,
      rank,
      alpha,
      scaling: loraScaling(alpha, rank, config.use_rslora),
      inFeatures: p.inFeatures,
      outFeatures: p.outFeatures,
      experts: p.experts,
    });
  }
  if (targets.length === 0) throw invalid("the LoRA config selects nothing to train on this model", "targetModules");
  return targets.sort((a, b) => a.layer - b.layer || a.name.localeCompare(b.name));
}

/** The adapter_config.json peft 0.21 writes for `config` (every key it writes, so peft loads it as its own). */
export function peftAdapterConfig(
  config: LoraConfig,
  dropout: number,
  init: boolean | string,
): Record<string, unknown> {
  return {
    alora_invocation_tokens: null,
    alpha_pattern: config.alpha_pattern,
    arrow_config: null,
    auto_mapping: null,
    base_model_name_or_path: config.base_model_name_or_path ?? null,
    bias: "none",
    corda_config: null,
    ensure_weight_tying: false,
    eva_config: null,
    exclude_modules: config.exclude_modules ?? null,
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: init,
    kasa_config: null,
    layer_replication: null,
    layers_pattern: config.layers_pattern ?? null,
    layers_to_transform: config.layers_to_transform ?? null,
    loftq_config: {},
    lora_alpha: config.lora_alpha,
    lora_bias: false,
    lora_dropout: dropout,
    lora_ga_config: null,
    megatron_config: null,
    megatron_core: "megatron.core",
    modules_to_save: null,
    monteclora_config: null,
    peft_type: "LORA",
    peft_version: "0.21.0",
    qalora_group_size: 16,
    r: config.r,
    rank_pattern: config.rank_pattern,
    revision: null,
    target_modules: config.target_modules,
    target_parameters: config.target_parameters.length > 0 ? config.target_parameters : null,
    task_type: config.task_type ?? "CAUSAL_LM",
    trainable_token_indices: null,
    use_bdlora: null,
    use_dora: false,
    use_qalora: false,
    use_rslora: config.use_rslora,
    velora_config: null,
  };
}
