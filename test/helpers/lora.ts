// The LoRA fixture adapter (test/fixtures/ernie45/tiny-ernie45-dense-lora) as engine.loadAdapter takes it.
import { readFileSync } from "node:fs";
import path from "node:path";

import type { LoraAdapterSpec } from "../../packages/engine/src/index.js";
import { readSafetensorsHeaderSync } from "../../packages/engine/src/model/safetensors_file.js";
import { LORA_DIR } from "./fixtures.js";

/** The fixture adapter described straight from its files (PEFT names → module names, byte ranges). */
export function fixtureAdapter(scale = 1): LoraAdapterSpec {
  const config = JSON.parse(readFileSync(path.join(LORA_DIR, "adapter_config.json"), "utf8")) as {
    r: number;
    lora_alpha: number;
  };
  const file = path.join(LORA_DIR, "adapter_model.safetensors");
  const { tensors } = readSafetensorsHeaderSync(file);
  const ref = (name: string) => {
    const t = tensors.get(name)!;
    return { file, dtype: t.dtype, shape: t.shape, byteOffset: t.begin, byteLength: t.end - t.begin };
  };
  const modules = [...tensors.keys()]
    .filter((k) => k.endsWith(".lora_A.weight"))
    .map((k) => {
      const module = k.replace(/^base_model\.model\./, "").replace(/\.lora_A\.weight$/, "");
      return {
        module,
        scaling: (scale * config.lora_alpha) / config.r,
        loraA: ref(k),
        loraB: ref(k.replace("lora_A", "lora_B")),
      };
    });
  return { config: { modules } };
}
