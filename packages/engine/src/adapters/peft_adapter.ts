/**
 * Reads a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors) and checks it
 * against the base model: every tensor must belong to a linear layer the model has and the config
 * selects, with A = [rank, in] and B = [out, rank], or to a routed-expert parameter that
 * target_parameters adapts (A = [experts·rank, in], B = [out, experts·rank]); every selected place
 * must have both. The result is the per-module description the engine applies (or merge uses).
 */
import path from "node:path";

import { WenxinError } from "../errors.js";
import type { ModelConfig } from "../model/config.js";
import { readJsonFile } from "../json_file.js";
import { canonicalTensorName } from "../model/ernie_layout.js";
import { readSafetensorsHeader, type TensorInfo } from "../model/safetensors_file.js";
import { loraScaling, parseLoraConfig, type LoraConfig } from "./lora_config.js";
import {
  expertParameterNames,
  expertParameterTable,
  expertParameterPath,
  expertParameters,
  linearModules,
  type ExpertParameter,
  type LinearModule,
} from "./lora_modules.js";
import { patternValue, selectsModule, selectsParameter, unmatchedTargets } from "./module_matching.js";

export interface LoraTensorRef {
  /** Tensor name in the adapter file, e.g. "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight". */
  name: string;
  file: string;
  dtype: "F32" | "F16" | "BF16";
  /** lora_A: [rank · experts, inFeatures]; lora_B: [outFeatures, rank · experts]. */
  shape: [number, number];
  /** Absolute byte range of the data in `file`. */
  byteOffset: number;
  byteLength: number;
}

export interface LoraModuleSpec {
  /**
   * Hugging Face module name ("model.layers.0.self_attn.q_proj", "model.layers.1.mlp.experts.3.up_proj"),
   * or a fused expert parameter ("model.layers.1.mlp.experts.gate_up_proj").
   */
  module: string;
  layer: number;
  block: "attention" | "mlp" | "expert" | "shared_experts" | "experts";
  projection: "q_proj" | "k_proj" | "v_proj" | "o_proj" | "gate_proj" | "up_proj" | "down_proj" | "gate_up_proj";
  /** Routed expert index (block "expert": transformers 4's per-expert modules). */
  expert?: number;
  /** Routed experts sharing the fused parameter (block "experts"). */
  experts?: number;
  /** Per expert for a fused parameter. */
  inFeatures: number;
  outFeatures: number;
  rank: number;
  alpha: number;
  /** y += scaling · B(A(x)): alpha / rank, or alpha / sqrt(rank) with use_rslora. */
  scaling: number;
  loraA: LoraTensorRef;
  loraB: LoraTensorRef;
}

export interface LoraAdapter {
  dir: string;
  file: string;
  config: LoraConfig;
  modules: LoraModuleSpec[];
}

export const ADAPTER_CONFIG_FILE = "adapter_config.json";
export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";

/** `[base_model.model.]<module>.lora_A|lora_B[.<adapter name>].weight` */
const LORA_TENSOR = /^(?:base_model\.model\.)?(.+)\.(lora_A|lora_B)(?:\.[\w-]+)?\.weight$/;

function shapeError(file: string, t: TensorInfo, module: string, expected: number[]): WenxinError {
  return new WenxinError(
    "ERR_WENXIN_SHAPE_MISMATCH",
    `${path.basename(file)}: ${t.name} has shape [${t.shape.join(", ")}] but ${module} needs [${expected.join(", ")}]`,
    { subject: t.name, expected, actual: t.shape },
  );
}

function ref(file: string, t: TensorInfo): LoraTensorRef {
  return {
    name: t.name,
    file,
    dtype: t.dtype as LoraTensorRef["dtype"],
    shape: [t.shape[0]!, t.shape[1]!],
    byteOffset: t.begin,
    byteLength: t.end - t.begin,
  };
}

type Pair = { A?: TensorInfo; B?: TensorInfo };

/** Groups the adapter file's tensors by module; anything that is not a LoRA A/B weight is an error. */
function tensorsByModule(file: string, tensors: Map<string, TensorInfo>): Map<string, Pair> {
  const byModule = new Map<string, Pair>();
  for (const t of tensors.values()) {
    const m = LORA_TENSOR.exec(t.name);
    if (!m) {
      const what = /lora_embedding|lora_magnitude|\.bias$/.test(t.name)
        ? "a LoRA variant that is not supported (embedding LoRA, DoRA or LoRA bias)"
        : "not a LoRA A/B weight";
      throw new WenxinError("ERR_WENXIN_INVALID_FILE", `${path.basename(file)}: tensor '${t.name}' is ${what}`, {
        subject: t.name,
      });
    }
    if (!["F32", "F16", "BF16"].includes(t.dtype))
      throw new WenxinError(
        "ERR_WENXIN_UNSUPPORTED_DTYPE",
        `${path.basename(file)}: tensor '${t.name}' is ${t.dtype}; expected F32, F16 or BF16`,
        {
          subject: t.name,
          expected: ["F32", "F16", "BF16"],
          actual: t.dtype,
        },
      );
    const name = canonicalTensorName(m[1]!);
    const entry = byModule.get(name) ?? {};
    entry[m[2] === "lora_A" ? "A" : "B"] = t;
    byModule.set(name, entry);
  }
  return byModule;
}

function describeBase(modules: LinearModule[]): string {
  const names = [...new Set(modules.filter((m) => m.supported).map((m) => m.projection))];
  const layers = Math.max(...modules.map((m) => (m.layer ?? -1) + 1));
  return `the base model (${layers} layers) has ${names.join(", ")}`;
}

function checkPair(file: string, name: string, pair: Pair, expectA: number[], expectB: number[]): void {
  if (!pair.A || !pair.B)
    throw new WenxinError(
      "ERR_WENXIN_MISSING_TENSOR",
      `${path.basename(file)}: ${name} has lora_${pair.A ? "B" : "A"} missing`,
      { subject: name },
    );
  if (pair.A.shape.length !== 2 || pair.A.shape[0] !== expectA[0] || pair.A.shape[1] !== expectA[1])
    throw shapeError(file, pair.A, name, expectA);
  if (pair.B.shape.length !== 2 || pair.B.shape[0] !== expectB[0] || pair.B.shape[1] !== expectB[1])
    throw shapeError(file, pair.B, name, expectB);
}

/** The fused expert parameters `config` adapts, claiming their tensors from `byModule`. */
function describeExpertParameters(
  config: LoraConfig,
  file: string,
  params: ExpertParameter[],
  byModule: Map<string, Pair>,
  source: string,
): LoraModuleSpec[] {
  const unmatched = config.target_parameters.filter(
    (t) => !params.some((p) => selectsParameter({ target_parameters: [t] }, p.key)),
  );
  if (unmatched.length > 0)
    throw new WenxinError(
      "ERR_WENXIN_INVALID_CONFIG",
      `${source}: target_parameters ${unmatched.map((t) => `'${t}'`).join(", ")} match no parameter of the base model` +
        (params.length > 0
          ? ` (its MoE layers have ${expertParameterNames()
              .map((n) => `${expertParameterTable().module}.${n}`)
              .join(" and ")})`
          : " (it has no MoE layers)"),
      { subject: "target_parameters", actual: unmatched },
    );
  const specs: LoraModuleSpec[] = [];
  const adapted = params.filter((p) => selectsParameter(config, p.key));
  for (const p of adapted) {
    const layerAdapted = expertParameterNames().filter((n) => adapted.some((q) => q.layer === p.layer && q.name === n));
    const where = expertParameterPath(p.key, layerAdapted);
    const pair = byModule.get(where) ?? {};
    byModule.delete(where);
    const rank = patternValue(config.rank_pattern, p.key, "rank_pattern") ?? config.r;
    const alpha = patternValue(config.alpha_pattern, p.key, "alpha_pattern") ?? config.lora_alpha;
    checkPair(file, p.key, pair, [p.experts * rank, p.inFeatures], [p.outFeatures, p.experts * rank]);
    specs.push({
      module: p.key,
      layer: p.layer,
      block: "experts",
      projection: p.name as LoraModuleSpec["projection"],
      experts: p.experts,
      inFeatures: p.inFeatures,
      outFeatures: p.outFeatures,
      rank,
      alpha,
      scaling: loraScaling(alpha, rank, config.use_rslora),
      loraA: ref(file, pair.A!),
      loraB: ref(file, pair.B!),
    });
  }
  return specs;
}

/** Validates a parsed config and a safetensors file against `base`; returns the module list. */
export async function describeAdapter(
  config: LoraConfig,
  file: string,
  base: ModelConfig,
  source: string,
): Promise<LoraModuleSpec[]> {
  const header = await readSafetensorsHeader(file);
  const byModule = tensorsByModule(file, header.tensors);
  const baseModules = linearModules(base.hparams);
  const byName = new Map(baseModules.map((m) => [m.module, m]));

  const unmatched = unmatchedTargets(
    config,
    baseModules.map((m) => m.module),
  );
  if (unmatched.length > 0)
    throw new WenxinError(
      "ERR_WENXIN_INVALID_CONFIG",
      `${source}: target_modules ${unmatched.map((t) => `'${t}'`).join(", ")} match no module of the base model; ${describeBase(baseModules)}`,
      {
        subject: "target_modules",
        expected: [...new Set(baseModules.filter((m) => m.supported).map((m) => m.projection))],
        actual: unmatched,
      },
    );

  const specs = describeExpertParameters(config, file, expertParameters(base.hparams), byModule, source);
  for (const [name, pair] of byModule) {
    const lin = byName.get(name);
    if (!lin)
      throw new WenxinError(
        "ERR_WENXIN_INVALID_CONFIG",
        `${source}: the adapter has weights for ${name}, which the base model does not have; ${describeBase(baseModules)}`,
        {
          subject: name,
        },
      );
    if (!selectsModule(config, name, lin.block === "lm_head"))
      throw new WenxinError(
        "ERR_WENXIN_INVALID_CONFIG",
        `${source}: the adapter has weights for ${name}, which its target_modules do not select`,
        { subject: name },
      );
    if (!lin.supported)
      throw new WenxinError("ERR_WENXIN_INVALID_CONFIG", `${source}: ${lin.why} (${name})`, { subject: name });
    const rank = patternValue(config.rank_pattern, name, "rank_pattern") ?? config.r;
    const alpha = patternValue(config.alpha_pattern, name, "alpha_pattern") ?? config.lora_alpha;
    checkPair(file, name, pair, [rank, lin.inFeatures], [lin.outFeatures, rank]);
    specs.push({
      module: name,
      layer: lin.layer!,
      block: lin.block as LoraModuleSpec["block"],
      projection: lin.projection as LoraModuleSpec["projection"],
      ...(lin.expert !== undefined ? { expert: lin.expert } : {}),
      inFeatures: lin.inFeatures,
      outFeatures: lin.outFeatures,
      rank,
      alpha,
      scaling: loraScaling(alpha, rank, config.use_rslora),
      loraA: ref(file, pair.A!),
      loraB: ref(file, pair.B!),
    });
  }
  const missing = baseModules.filter(
    (m) => m.supported && !byModule.has(m.module) && selectsModule(config, m.module, m.block === "lm_head"),
  );
  if (missing.length > 0)
    throw new WenxinError(
      "ERR_WENXIN_MISSING_TENSOR",
      `${path.basename(file)}: target_modules select ${missing.length} layer(s) the file has no weights for, first ${missing[0]!.module}`,
      { subject: missing[0]!.module },
    );
  if (specs.length === 0)
    throw new WenxinError("ERR_WENXIN_MISSING_TENSOR", `${path.basename(file)} holds no LoRA weights`, {
      subject: file,
    });
  return specs.sort((a, b) => a.layer - b.layer || a.module.localeCompare(b.module));
}

/** Loads and validates the adapter in `dir` for a base model with config `base`. */
export async function loadLoraAdapter(adapterDir: string, base: ModelConfig): Promise<LoraAdapter> {
  const dir = path.resolve(adapterDir);
  const configFile = path.join(dir, ADAPTER_CONFIG_FILE);
  const file = path.join(dir, ADAPTER_WEIGHTS_FILE);
  const config = parseLoraConfig(await readJsonFile(configFile), configFile);
  try {
    return { dir, file, config, modules: await describeAdapter(config, file, base, configFile) };
  } catch (err) {
    if (err instanceof WenxinError && err.code === "ERR_WENXIN_FILE_NOT_FOUND" && err.details.subject === file)
      throw new WenxinError(
        "ERR_WENXIN_FILE_NOT_FOUND",
        `${dir} has no ${ADAPTER_WEIGHTS_FILE} (PyTorch .bin adapters are not supported; save with safe_serialization=True)`,
        {
          subject: file,
        },
      );
    throw err;
  }
}
