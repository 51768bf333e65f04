/**
 * The sampling fields that /v1/chat/completions and /v1/completions share: their wire schema
 * (OpenAI's names and ranges, plus vLLM's `top_k`, `min_p` and `repetition_penalty`) and the one
 * mapper to the engine's options.
 */
import { z } from "zod";

import type { SamplingOptions } from "@wenxin/engine";

import { badRequest, unsupported } from "../errors.js";
import type { ServerOptions } from "../options.js";

export const samplingFields = {
  model: z.string().min(1),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  seed: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).nullish(),
  /** Count and length are limited by the server's options (`stopStrings`). */
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  n: z.number().int().min(1).max(16).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
  user: z.string().nullish(),
  // Beyond OpenAI, as vLLM names them.
  top_k: z.number().int().min(-1).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repetition_penalty: z.number().gt(0).max(10).nullish(),
};

export type SamplingRequest = z.infer<z.ZodObject<typeof samplingFields>>;

/** Rejects, with a clear 400, the fields the engine cannot honour yet. */
export function rejectUnsupportedSampling(body: SamplingRequest): void {
  if (body.presence_penalty)
    throw unsupported("presence_penalty", "a non-zero presence_penalty (use repetition_penalty)");
  if (body.frequency_penalty)
    throw unsupported("frequency_penalty", "a non-zero frequency_penalty (use repetition_penalty)");
  if (body.logit_bias && Object.keys(body.logit_bias).length > 0) throw unsupported("logit_bias", "logit_bias");
}

/** Seeds may be any 64-bit integer for OpenAI; the engine takes non-negative ones. */
function engineSeed(seed: number, choice: number): number {
  const s = Math.abs(seed) + choice;
  return s > Number.MAX_SAFE_INTEGER ? s - Number.MAX_SAFE_INTEGER : s;
}

/**
 * The request's stop strings (empty ones dropped), within the server's limits on their count and
 * length: stop matching holds back and rescans up to the longest one, so both bound its cost.
 */
export function stopStrings(
  body: SamplingRequest,
  limits: Pick<ServerOptions, "maxStopStrings" | "maxStopLength">,
): string[] {
  if (body.stop == null) return [];
  const list = (Array.isArray(body.stop) ? body.stop : [body.stop]).filter((s) => s.length > 0);
  if (list.length > limits.maxStopStrings)
    throw badRequest(`'stop' has ${list.length} strings; this server takes at most ${limits.maxStopStrings}`, "stop");
  const i = list.findIndex((s) => s.length > limits.maxStopLength);
  if (i >= 0)
    throw badRequest(
      `'stop' string ${i} has ${list[i]!.length} characters; this server takes at most ${limits.maxStopLength}`,
      "stop",
    );
  return list;
}

/** The engine's sampling options for choice number `choice` of a request (stop strings: `stopStrings`). */
export function toEngineSampling(body: SamplingRequest, choice: number): SamplingOptions {
  const out: SamplingOptions = {};
  // OpenAI's top_p 0 means "only the most likely token": greedy.
  if (body.temperature === 0 || body.top_p === 0) out.temperature = 0;
  else {
    if (body.temperature != null) out.temperature = body.temperature;
    if (body.top_p != null) out.topP = body.top_p;
    if (body.temperature != null || body.top_p != null) out.doSample = true;
  }
  if (body.top_k != null) out.topK = Math.max(0, body.top_k);
  if (body.min_p != null) out.minP = body.min_p;
  if (body.repetition_penalty != null) out.repetitionPenalty = body.repetition_penalty;
  if (body.seed != null) out.seed = engineSeed(body.seed, choice);
  return out;
}
