// The LoRA fixture adapter (test/fixtures/ernie45/tiny-ernie45-dense-lora) as engine.loadAdapter takes it.
import { readFileSync } from "node:fs";
import path from "node:path";

import type { LoraAdapterSpec } from "../../packages/engine/src/index.js";
import { LORA_DIR } from "./fixtures.js";

/** The fixture adapter described straight from its files (PEFT names → module names, byte ranges). */
export function fixtureAdapter(scale = 1): LoraAdapterSpec {
  const config = JSON.parse(readFileSync(path.join(LORA_DIR, "adapter_config.json"), "utf8")) as {
    r: number;
    lora_alpha: number;
  };
  const file = path.join(LORA_DIR, "adapter_model.safetensors");
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const ref = (name: string) => {
    const t = header[name]!;
    return {
      file,
      dtype: t.dtype,
      shape: t.shape,
      byteOffset: 8 + n + t.data_offsets[0],
      byteLength: t.data_offsets[1] - t.data_offsets[0],
    };
  };
  const modules = Object.keys(header)
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
