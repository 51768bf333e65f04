import { WenxinError } from "@wenxin/engine";
import { loadOptionsSchema } from "@wenxin/engine/internal";
import { z } from "zod";
import type { HubDownloadOptions, ProgressCallback } from "@wenxin/engine/internal";

import { parseOptions } from "../utils/options.js";

/** dtype values accepted: the engine computes in float32 from the checkpoint's own weights. */
const SUPPORTED_DTYPES = ["auto", "fp32", "float32"];

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
    /** "auto" or "fp32": the engine runs float32 compute on the checkpoint's F32/F16/BF16 weights. */
    dtype: z.string().optional(),
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
  if (opts.dtype !== undefined && !SUPPORTED_DTYPES.includes(opts.dtype))
    throw new WenxinError(
      "ERR_WENXIN_UNSUPPORTED_DTYPE",
      `${what}: dtype '${opts.dtype}' is not supported; this engine computes in float32 from the checkpoint's weights (use ${SUPPORTED_DTYPES.map((d) => `'${d}'`).join(" or ")})`,
      { subject: "dtype", expected: SUPPORTED_DTYPES, actual: opts.dtype },
    );
  return opts;
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
