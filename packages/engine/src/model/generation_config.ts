import { access } from "node:fs/promises";
import path from "node:path";

import { z } from "zod";

import { readJsonFile } from "../json_file.js";

const schema = z
  .object({
    do_sample: z.boolean().optional(),
    temperature: z.number().optional(),
    top_k: z.number().int().optional(),
    top_p: z.number().optional(),
    min_p: z.number().nullish(),
    repetition_penalty: z.number().optional(),
    eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
    max_new_tokens: z.number().int().optional(),
  })
  .passthrough();

/** The sampling defaults a checkpoint ships in generation_config.json (all optional). */
export interface GenerationDefaults {
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  eosTokenIds: number[];
  maxNewTokens?: number;
}

export async function loadGenerationDefaults(dir: string): Promise<GenerationDefaults> {
  const file = path.join(dir, "generation_config.json");
  try {
    await access(file);
  } catch {
    return { eosTokenIds: [] };
  }
  const parsed = schema.safeParse(await readJsonFile(file));
  if (!parsed.success) return { eosTokenIds: [] }; // a malformed optional file only loses its defaults
  const g = parsed.data;
  const eos = g.eos_token_id;
  return {
    doSample: g.do_sample,
    temperature: g.temperature,
    topK: g.top_k,
    topP: g.top_p,
    minP: g.min_p ?? undefined,
    repetitionPenalty: g.repetition_penalty,
    eosTokenIds: eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos],
    maxNewTokens: g.max_new_tokens,
  };
}
