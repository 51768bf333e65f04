/**
 * Where a command's model comes from: a checkpoint directory or `.gguf` file on disk, used as is,
 * or a Hugging Face hub id (`org/name`, as `vllm serve` and `ollama run` take names), pulled into
 * the shared HF cache first with a progress line per file (nothing is downloaded when it is cached).
 */
import { existsSync } from "node:fs";

import { ADAPTER_FILES, MODEL_FILES, resolvePretrained } from "@wenxin/transformers";

import { progressPrinter } from "./pull.js";

export interface ModelSource {
  /** What to load: the path given, or the hub snapshot directory. */
  path: string;
  /** The hub id when the model came from the hub (a natural model name to serve it under). */
  repoId?: string;
}

export async function resolveModelSource(
  given: string,
  options: { quiet?: boolean; files?: "model" | "adapter" } = {},
): Promise<ModelSource> {
  if (existsSync(given)) return { path: given };
  const location = await resolvePretrained(given, options.files === "adapter" ? ADAPTER_FILES : MODEL_FILES, {
    progress_callback: options.quiet ? undefined : progressPrinter(),
  });
  return { path: location.dir, ...(location.repoId ? { repoId: location.repoId } : {}) };
}
