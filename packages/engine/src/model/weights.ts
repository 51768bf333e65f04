import { access, readdir } from "node:fs/promises";
import path from "node:path";

import { z } from "zod";

import { WenxinError } from "../errors.js";
import { readJsonFile } from "../json_file.js";

const indexSchema = z.object({ weight_map: z.record(z.string(), z.string()) }).passthrough();

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * The safetensors files of a checkpoint directory: the shards named by
 * `model.safetensors.index.json`, else `model.safetensors`, else every `*.safetensors`.
 * The native side maps them; their bytes never pass through JS.
 */
export async function resolveWeightFiles(dir: string): Promise<string[]> {
  const indexFile = path.join(dir, "model.safetensors.index.json");
  if (await exists(indexFile)) {
    const parsed = indexSchema.safeParse(await readJsonFile(indexFile));
    if (!parsed.success)
      throw new WenxinError("ERR_WENXIN_INVALID_FILE", `${indexFile} has no valid weight_map`, { subject: indexFile });
    const weightMap = parsed.data.weight_map;
    const tensorOf = (shard: string): string => Object.keys(weightMap).find((t) => weightMap[t] === shard) ?? "";
    const shards = [...new Set(Object.values(weightMap))].sort();
    // A shard is a file of the model directory: a name that is a path could make the loader open
    // any file on the machine (a device, a FIFO that blocks forever).
    for (const s of shards)
      if (s === "" || s === "." || s === ".." || s !== path.basename(s) || s.includes("\\") || s.includes("\0"))
        throw new WenxinError(
          "ERR_WENXIN_INVALID_FILE",
          `${indexFile} maps tensor '${tensorOf(s)}' to ${JSON.stringify(s)}, which is not a file name in the model directory`,
          {
            subject: indexFile,
            actual: s,
          },
        );
    const files = shards.map((s) => path.join(dir, s));
    for (const [i, f] of files.entries())
      if (!(await exists(f)))
        throw new WenxinError(
          "ERR_WENXIN_FILE_NOT_FOUND",
          `shard ${path.basename(f)} listed in ${indexFile} (for tensor '${tensorOf(shards[i]!)}') is missing`,
          { subject: f },
        );
    return files;
  }
  const single = path.join(dir, "model.safetensors");
  if (await exists(single)) return [single];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new WenxinError(
      "ERR_WENXIN_FILE_NOT_FOUND",
      `model directory ${dir} cannot be read: ${(err as Error).message}`,
      { subject: dir },
      { cause: err },
    );
  }
  const found = names.filter((n) => n.endsWith(".safetensors") && !n.startsWith("adapter_")).sort();
  if (found.length === 0)
    throw new WenxinError(
      "ERR_WENXIN_FILE_NOT_FOUND",
      `no weights in ${dir}: expected model.safetensors or model.safetensors.index.json`,
      {
        subject: dir,
        expected: ["model.safetensors", "model.safetensors.index.json"],
      },
    );
  return found.map((n) => path.join(dir, n));
}
