import { WenxinError } from "@wenxin/engine";
import { loadOptionsSchema } from "@wenxin/engine/internal";
import { z } from "zod";
import type { HubDownloadOptions, ProgressCallback } from "@wenxin/engine/internal";

import { parseOptions } from "../utils/options.js";

/**
 * dtype values accepted, and how the engine then holds the weight matrices: "fp32" / "bf16"
 * (and "auto") run float32 compute on the checkpoint's own weights; "q8" and "q4" quantize them
 * once at load (int8 per row; int4 in blocks of 32), as transformers.js' quantized variants.
 * transformers.js' other names for its ONNX files get the nearest of these that is at least as
 * precise: "fp16" the stored weights, "int8" / "uint8" / "quantized" q8, "q4f16" / "bnb4" q4 (the
 * parts transformers.js would run in fp16 run in float32 here).
 */
const DTYPE_WEIGHTS: Record<string, "bf16" | "q8" | "q4"> = {
  auto: "bf16",
  fp32: "bf16",
  float32: "bf16",
  bf16: "bf16",
  bfloat16: "bf16",
  fp16: "bf16",
  q8: "q8",
  int8: "q8",
  uint8: "q8",
  quantized: "q8",
  q4: "q4",
  q4f16: "q4",
  bnb4: "q4",
};
const SUPPORTED_DTYPES = Object.keys(DTYPE_WEIGHTS);

/** Options of every `from_pretrained` (transformers' names). */
export const pretrainedOptionsSchema = z
  .object({
    /** Branch, tag or commit of a hub repository (default "main"). */
    revision: z.string().min(1).optional(),
    /** Cache root instead of HF_HUB_CACHE / $HF_HOME/hub. */
    cache_dir: z.string().min(1).optional(),
    /** Only use files already in the cache (like HF_HUB_OFFLINE=1 for this call). */
    local_files_only: z.boolean().optional(),
    /** Hub token; default HF_TOKEN or the stored login; false sends none. */
    token: z.union([z.string().min(1), z.literal(false)]).optional(),
    /** Called with download progress events (initiate / download / progress / done). */
    progress_callback: z.custom<ProgressCallback>((v) => typeof v === "function", "must be a function").optional(),
    /** "fp32" | "bf16" | "q8" | "q4", "auto", or another transformers.js dtype: how the weights are held (see DTYPE_WEIGHTS). */
    dtype: z.unknown().optional(),
    /** Only the CPU engine exists. */
    device: z.enum(["auto", "cpu"]).optional(),
    /** Engine settings (threads, maxContext, kvCacheTokens), as for Engine.load. */
    engine_options: loadOptionsSchema.optional(),
    /** Cancels downloads. */
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, "must be an AbortSignal").optional(),
  })
  .strict();

export type PretrainedOptions = z.infer<typeof pretrainedOptionsSchema>;

export function parsePretrainedOptions(options: unknown, what: string): PretrainedOptions {
  const opts = parseOptions(pretrainedOptionsSchema, options, what);
  const dtype = opts.dtype;
  if (dtype !== undefined && (typeof dtype !== "string" || !SUPPORTED_DTYPES.includes(dtype)))
    throw new WenxinError(
      "ERR_WENXIN_UNSUPPORTED_DTYPE",
      `${what}: dtype ${typeof dtype === "string" ? `'${dtype}'` : "given per module"} is not supported; use one of ${SUPPORTED_DTYPES.map((d) => `'${d}'`).join(", ")} for the whole model`,
      {
        subject: "dtype",
        expected: SUPPORTED_DTYPES,
        actual: typeof dtype === "string" ? dtype : JSON.stringify(dtype),
      },
    );
  const weights = typeof dtype === "string" ? DTYPE_WEIGHTS[dtype] : undefined;
  if (weights !== undefined && opts.engine_options?.weights !== undefined && opts.engine_options.weights !== weights)
    throw new WenxinError(
      "ERR_WENXIN_INVALID_ARGUMENT",
      `${what}: dtype '${String(dtype)}' and engine_options.weights '${opts.engine_options.weights}' disagree; give one`,
      { subject: "dtype" },
    );
  return weights === undefined || weights === "bf16"
    ? opts
    : { ...opts, engine_options: { ...opts.engine_options, weights } };
}

export function hubOptions(opts: PretrainedOptions): HubDownloadOptions {
  return {
    revision: opts.revision,
    cache_dir: opts.cache_dir,
    local_files_only: opts.local_files_only,
    token: opts.token,
    progress_callback: opts.progress_callback,
    signal: opts.signal,
  };
}
