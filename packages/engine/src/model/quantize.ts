import { copyFile, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { z } from "zod";

import { WenxinError, fromNativeError } from "../errors.js";
import { parseOrThrow } from "../generation/options.js";
import { nativeAddon } from "../native/binding.js";
import { readJsonFile } from "../json_file.js";
import { loadModelConfig } from "./config.js";
import { resolveWeightFiles } from "./weights.js";

export const quantizeOptionsSchema = z.object({
  weights: z.enum(["q8", "q4", "fp8"]),
  threads: z.number().int().min(1).max(1024).optional(),
  /**
   * q4 only: save the matrices in this CPU's kernel tiles instead of the plain layout, so a load on a CPU
   * with the same tiles maps them in place (no repacking, no anonymous copy of the weights); any other CPU
   * unpacks them at load. Refused where the kernels have no tiles (the generic path).
   */
  tiles: z.boolean().optional(),
});

export type QuantizeOptions = z.infer<typeof quantizeOptionsSchema>;

/**
 * Writes a copy of the checkpoint at `src` to `out` with its matrices quantized (one
 * model.safetensors; tokenizer and other files copied). `Engine.load(out)` then memory-maps the
 * quantized matrices instead of quantizing at every load.
 */
export async function quantizeModel(src: string, out: string, options: QuantizeOptions): Promise<void> {
  const opts = parseOrThrow(quantizeOptionsSchema, options, "quantize options");
  const from = path.resolve(src),
    to = path.resolve(out);
  if (from === to)
    throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "the output directory must differ from the source");
  const config = await loadModelConfig(from);
  const files = await resolveWeightFiles(from);
  await mkdir(to, { recursive: true });
  try {
    await nativeAddon().saveQuantized(
      config.hparams,
      files,
      { weights: opts.weights, tiles: opts.tiles ?? false },
      path.join(to, "model.safetensors"),
      opts.threads ?? os.availableParallelism(),
    );
  } catch (err) {
    await rm(path.join(to, "model.safetensors"), { force: true });
    throw fromNativeError(err);
  }
  for (const name of await readdir(from)) {
    if (name.endsWith(".safetensors") || name === "model.safetensors.index.json" || name === "config.json") continue;
    await copyFile(path.join(from, name), path.join(to, name));
  }
  const raw = (await readJsonFile(path.join(from, "config.json"))) as Record<string, unknown>;
  await writeFile(
    path.join(to, "config.json"),
    JSON.stringify({ ...raw, wenxin_quantization: { weights: opts.weights } }, null, 2),
  );
}
