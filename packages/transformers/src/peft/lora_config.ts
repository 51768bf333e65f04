/**
 * peft's LoraConfig: `new LoraConfig({ r: 16, lora_alpha: 32, target_modules: ["q_proj", "v_proj"] })`,
 * with peft's names and defaults, for get_peft_model. It carries every field of an adapter's
 * config, so a loaded adapter's settings read the same way (PeftModel.peft_config).
 */
import type { LoraOptions, LoraConfig as AdapterConfig } from "@wenxin/engine";

export interface LoraConfigInit {
  r?: number;
  lora_alpha?: number;
  lora_dropout?: number;
  target_modules?: string[] | string;
  target_parameters?: string[];
  exclude_modules?: string[] | string;
  layers_to_transform?: number[] | number;
  rank_pattern?: Record<string, number>;
  alpha_pattern?: Record<string, number>;
  use_rslora?: boolean;
  /** true: A Kaiming-uniform, B zero (peft's default); "gaussian"; false is not offered (it would not start from the base model). */
  init_lora_weights?: true | "gaussian";
  bias?: "none";
  task_type?: "CAUSAL_LM";
}

export class LoraConfig implements AdapterConfig {
  readonly peft_type = "LORA" as const;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  use_rslora: boolean;
  target_modules: string[] | string;
  target_parameters: string[];
  exclude_modules: string[] | string | undefined;
  layers_to_transform: number[] | undefined;
  layers_pattern: string[] | undefined = undefined;
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  init_lora_weights: true | "gaussian";
  bias = "none" as const;
  task_type: string | undefined;
  base_model_name_or_path: string | undefined = undefined;

  constructor(init: LoraConfigInit = {}) {
    this.r = init.r ?? 8;
    this.lora_alpha = init.lora_alpha ?? 8;
    this.lora_dropout = init.lora_dropout ?? 0;
    this.use_rslora = init.use_rslora ?? false;
    // peft has no default targets for ERNIE; q_proj/v_proj is what its docs and the ERNIE review use.
    this.target_modules = init.target_modules ?? ["q_proj", "v_proj"];
    this.target_parameters = init.target_parameters ?? [];
    this.exclude_modules = init.exclude_modules;
    const layers = init.layers_to_transform;
    this.layers_to_transform = layers === undefined ? undefined : Array.isArray(layers) ? layers : [layers];
    this.rank_pattern = init.rank_pattern ?? {};
    this.alpha_pattern = init.alpha_pattern ?? {};
    this.init_lora_weights = init.init_lora_weights ?? true;
    this.task_type = init.task_type ?? "CAUSAL_LM";
  }

  /** The engine trainer's LoRA options. */
  toTrainerOptions(): LoraOptions {
    return {
      r: this.r,
      alpha: this.lora_alpha,
      dropout: this.lora_dropout,
      rslora: this.use_rslora,
      targetModules: this.target_modules,
      ...(this.target_parameters.length > 0 && { targetParameters: this.target_parameters }),
      ...(this.exclude_modules !== undefined && { excludeModules: this.exclude_modules }),
      ...(this.layers_to_transform !== undefined && { layersToTransform: this.layers_to_transform }),
      rankPattern: this.rank_pattern,
      alphaPattern: this.alpha_pattern,
      init: this.init_lora_weights === "gaussian" ? "gaussian" : "default",
    };
  }
}
