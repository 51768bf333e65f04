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
 * The shards a safetensors index (model.safetensors.index.json, parsed) lists, sorted and once
 * each, and the first tensor it maps to a shard (for messages). A shard must be a plain file name:
 * a path could make the loader open any file on the machine (a device, a FIFO that blocks forever).
 * `indexFile` names the index in errors, `subject` is the error's subject (default: indexFile).
 */
export function indexShards(
  indexFile: string,
  json: unknown,
  subject = indexFile,
): { shards: string[]; tensorOf: (shard: string) => string } {
  const parsed = indexSchema.safeParse(json);
  if (!parsed.success)
    throw new WenxinError("ERR_WENXIN_INVALID_FILE", `${indexFile} has no valid weight_map`, { subject });
  const weightMap = parsed.data.weight_map;
  const tensorOf = (shard: string): string => Object.keys(weightMap).find((t) => weightMap[t] === shard) ?? "";
  const shards = [...new Set(Object.values(weightMap))].sort();
  for (const s of shards)
    if (s === "" || s === "." || s === ".." || s !== path.basename(s) || s.includes("\\") || s.includes("\0"))
      throw new WenxinError(
        "ERR_WENXIN_INVALID_FILE",
        `${indexFile} maps tensor '${tensorOf(s)}' to ${JSON.stringify(s)}, which is not a file name in the model directory`,
        { subject, actual: s },
      );
  return { shards, tensorOf };
}

/**
 * The safetensors files of a checkpoint directory: the shards named by
 * `model.safetensors.index.json`, else `model.safetensors`, else every `*.safetensors`.
 * The native side maps them; their bytes never pass through JS.
 */
export async function resolveWeightFiles(dir: string): Promise<string[]> {
  const indexFile = path.join(dir, "model.safetensors.index.json");
  if (await exists(indexFile)) {
    const { shards, tensorOf } = indexShards(indexFile, await readJsonFile(indexFile));
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
