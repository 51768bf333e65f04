/**
 * Where LoRA can sit on an ERNIE 4.5 model: its linear layers by their Hugging Face module names,
 * and the routed experts' fused parameters (transformers 5's `mlp.experts.gate_up_proj` /
 * `down_proj`, which peft adapts in place), with the shapes a LoRA pair on each must have. Derived
 * from the validated hyper-parameters, so it fits exactly the checkpoint that is loaded.
 */
import type { ModelConfig } from "../model/config.js";
import {
  checkpointTensors,
  headTensor,
  isMoeLayer,
  layerModule,
  tensorNameTable,
  tensorShape,
  type CheckpointTensor,
} from "../model/ernie_layout.js";

export type Projection = "q_proj" | "k_proj" | "v_proj" | "o_proj" | "gate_proj" | "up_proj" | "down_proj";

export interface LinearModule {
  /** e.g. "model.layers.0.self_attn.q_proj" */
  module: string;
  layer: number | undefined;
  /** Where it sits: attention, the dense MLP, one routed expert, the shared experts, the router or the head. */
  block: "attention" | "mlp" | "expert" | "shared_experts" | "router" | "lm_head";
  projection: Projection | "gate" | "lm_head";
  expert?: number;
  inFeatures: number;
  outFeatures: number;
  /** Whether the engine can apply LoRA here; if not, `why`. */
  supported: boolean;
  why?: string;
}

type Hparams = ModelConfig["hparams"];

function blockOf(t: CheckpointTensor): LinearModule["block"] {
  if (t.kind === "router") return "router";
  if (t.layer === undefined) return "lm_head";
  if (t.expert !== undefined) return "expert";
  if (t.name.includes(".shared_experts.")) return "shared_experts";
  return t.name.includes(".self_attn.") ? "attention" : "mlp";
}

const UNSUPPORTED: Partial<Record<LinearModule["block"], string>> = {
  router: "LoRA on the MoE router is not supported",
  lm_head: "LoRA on the output head (lm_head) is not supported",
};

/**
 * The linear layers of the checkpoint layout (ernie_layout.ts: every matrix but the embedding, and
 * the MoE routers), then the output head, which is listed even when tied to the embedding.
 */
export function linearModules(hp: Hparams): LinearModule[] {
  const out: LinearModule[] = [];
  const layers = checkpointTensors(hp).filter(
    (t) => t.layer !== undefined && (t.kind === "matrix" || t.kind === "router"),
  );
  for (const t of [...layers, headTensor(hp)]) {
    const module = t.name.slice(0, -".weight".length);
    const block = blockOf(t);
    const why = UNSUPPORTED[block];
    out.push({
      module,
      layer: t.layer,
      block,
      projection:
        block === "router" ? "gate" : (module.slice(module.lastIndexOf(".") + 1) as LinearModule["projection"]),
      ...(t.expert !== undefined ? { expert: t.expert } : {}),
      inFeatures: t.shape[1]!,
      outFeatures: t.shape[0]!,
      supported: why === undefined,
      ...(why !== undefined ? { why } : {}),
    });
  }
  return out;
}

/** A routed experts' fused parameter's name ("gate_up_proj", "down_proj"). */
export type ExpertParameterName = string;

/**
 * The routed experts' fused parameters, in the order transformers registers them, with the per-expert
 * projections each stacks (tensor_names.json's expertParameters, which the native adapter loader and
 * trainer read too), and the module they sit under ("mlp.experts").
 */
export function expertParameterTable(): { module: string; parameters: { hf: string; parts: string[] }[] } {
  return tensorNameTable().expertParameters;
}

/** The fused parameters' names, in registration order. */
export function expertParameterNames(): ExpertParameterName[] {
  return expertParameterTable().parameters.map((p) => p.hf);
}

/** One MoE layer's fused expert parameter: [experts, out, in]; gate_up_proj's out stacks gate over up. */
export interface ExpertParameter {
  /** e.g. "model.layers.1.mlp.experts.gate_up_proj" */
  key: string;
  layer: number;
  name: ExpertParameterName;
  experts: number;
  /** Per expert. */
  inFeatures: number;
  outFeatures: number;
}

export function expertParameters(hp: Hparams): ExpertParameter[] {
  const out: ExpertParameter[] = [];
  const experts = hp.moeNumExperts;
  const { module, parameters } = expertParameterTable();
  // Each part's [out, in] per expert, from its table entry ("mlp.experts.*.gate_proj"); the parts stack rows.
  const shapes = parameters.map((p) =>
    p.parts.map((part) => {
      const entry = tensorNameTable().layer.find((e) => e.hf === `${module}.*.${part}`);
      if (entry === undefined) throw new Error(`tensor_names.json has no entry ${module}.*.${part}`);
      return tensorShape(hp, entry);
    }),
  );
  for (let l = 0; l < hp.numHiddenLayers; l++) {
    if (!isMoeLayer(hp, l)) continue;
    const base = layerModule(l, module);
    parameters.forEach((p, i) => {
      const parts = shapes[i]!;
      out.push({
        key: `${base}.${p.hf}`,
        layer: l,
        name: p.hf,
        experts,
        inFeatures: parts[0]![1]!,
        outFeatures: parts.reduce((rows, s) => rows + s[0]!, 0),
      });
    });
  }
  return out;
}

/**
 * The module path under which peft saves a fused parameter's LoRA. peft wraps the adapted
 * parameters of one module in registration order, each wrapper around the last, so the last
 * adapted is the outer one ("…mlp.experts") and each earlier one a ".base_layer" deeper.
 */
export function expertParameterPath(key: string, adapted: readonly ExpertParameterName[]): string {
  const dot = key.lastIndexOf(".");
  const name = key.slice(dot + 1) as ExpertParameterName;
  const depth = adapted.length - 1 - adapted.indexOf(name);
  return key.slice(0, dot) + ".base_layer".repeat(depth);
}
