import { PretrainedConfig } from "../configuration_utils.js";

/** config.json of a dense ERNIE 4.5 model (ERNIE-4.5-0.3B). */
export class Ernie4_5Config extends PretrainedConfig {
  static readonly model_type: string | undefined = "ernie4_5";
}

/** config.json of an ERNIE 4.5 mixture-of-experts model (ERNIE-4.5-21B-A3B, -300B-A47B). */
export class Ernie4_5_MoeConfig extends PretrainedConfig {
  static readonly model_type: string | undefined = "ernie4_5_moe";
}
