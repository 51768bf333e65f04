/**
 * model.generate(): transformers' options (snake_case) resolved against the model's
 * GenerationConfig, then one engine request per row, all running together on the engine thread.
 * Returns the full sequences (prompt + new ids, the final eos included) as an int64 Tensor of
 * dims [batch, length] (shorter rows padded with the pad token), like transformers.js.
 */
import { WenxinError, type Engine, type GenerateOptions } from "@wenxin/engine";
import { z } from "zod";

import { parseOptions } from "../utils/options.js";
import { Tensor } from "../utils/tensor.js";
import { GenerationConfig } from "./configuration_utils.js";
import type { BaseStreamer } from "./streamers.js";

export type TokenRows = number[] | number[][] | Tensor;

/**
 * What to continue: ids, a batch of ids, a Tensor of them, or the output of `tokenizer(text)` /
 * `apply_chat_template(...)`, optionally with the options in the same object (transformers.js'
 * `generate({ ...inputs, max_new_tokens })`).
 */
export type GenerateInputs =
  TokenRows | ({ input_ids: TokenRows; attention_mask?: TokenRows; token_type_ids?: TokenRows } & GenerateOptionsInput);

/** `generate()` with `return_dict_in_generate: true`. */
export interface GenerateDictOutput {
  sequences: Tensor<BigInt64Array>;
}

/**
 * transformers.js' generate(): an int64 Tensor of the sequences, or `{ sequences }` when
 * `return_dict_in_generate` is set (beside the inputs or in the options). `Options` adds a model's
 * own options (PeftModel's adapter_names).
 */
export interface GenerateMethod<Options extends GenerateOptionsInput = GenerateOptionsInput> {
  (inputs: GenerateInputs & { return_dict_in_generate: true }, options?: Options): Promise<GenerateDictOutput>;
  (inputs: GenerateInputs, options: Options & { return_dict_in_generate: true }): Promise<GenerateDictOutput>;
  (inputs: GenerateInputs, options?: Options): Promise<Tensor<BigInt64Array>>;
}

/** Options of transformers.js' generate that this engine takes only at their default, with why. */
function onlyDefault<T extends z.ZodTypeAny>(schema: T, why: string) {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (v !== undefined && !schema.safeParse(v).success) ctx.addIssue({ code: "custom", message: why });
    })
    .optional();
}

const tokenId = z.number().int().nonnegative();

export const generateOptionsSchema = z
  .object({
    max_new_tokens: z.number().int().positive().optional(),
    /** Prompt + new tokens; used when max_new_tokens is not set (default 20, as in transformers). */
    max_length: z.number().int().positive().optional(),
    do_sample: z.boolean().optional(),
    temperature: z.number().min(0).optional(),
    top_k: z.number().int().min(0).optional(),
    top_p: z.number().gt(0).max(1).optional(),
    min_p: z.number().min(0).max(1).nullable().optional(),
    repetition_penalty: z.number().gt(0).optional(),
    /** More ids that end generation; the model's own end-of-sequence ids always do. */
    eos_token_id: z
      .union([tokenId, z.array(tokenId)])
      .nullable()
      .optional(),
    /** Strings that end generation (the ids up to the one completing the string are returned). */
    stop_strings: z.union([z.string(), z.array(z.string())]).optional(),
    /** Makes sampling reproducible; row i of a batch uses seed + i. */
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    streamer: z
      .custom<BaseStreamer>(
        (v) => !!v && typeof (v as BaseStreamer).put === "function" && typeof (v as BaseStreamer).end === "function",
        "must have put() and end()",
      )
      .optional(),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, "must be an AbortSignal").optional(),
    /** Used instead of the model's generation_config (explicit options still win). */
    generation_config: z
      .custom<GenerationConfig>((v) => v instanceof GenerationConfig, "must be a GenerationConfig")
      .optional(),
    /** Return `{ sequences }` instead of the sequences Tensor (transformers.js). */
    return_dict_in_generate: z.boolean().optional(),
    /** Pads the shorter rows of the returned Tensor (default the model's pad token, else its eos). */
    pad_token_id: tokenId.nullable().optional(),
    bos_token_id: tokenId.nullable().optional(),
    /** Accepted and ignored: the engine always keeps its KV cache. */
    use_cache: z.boolean().optional(),
    num_beams: onlyDefault(z.literal(1), "beam search is not supported: only num_beams 1 (sampling or greedy)"),
    num_return_sequences: onlyDefault(
      z.literal(1),
      "only num_return_sequences 1; pass the prompt several times with different seeds instead",
    ),
    output_scores: onlyDefault(z.literal(false), "scores are not returned (use the engine's logprobs)"),
    output_attentions: onlyDefault(z.literal(false), "attentions are not returned"),
    output_hidden_states: onlyDefault(z.literal(false), "hidden states are not returned (use feature-extraction)"),
  })
  .strict();

export type GenerateOptionsInput = z.input<typeof generateOptionsSchema>;

function isRow(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number" || typeof x === "bigint");
}

export function toRows(v: TokenRows | undefined, what: string): number[][] {
  if (v instanceof Tensor) return v.toRows();
  if (isRow(v)) return [v.map(Number)];
  if (Array.isArray(v) && v.length > 0 && v.every(isRow)) return (v as number[][]).map((r) => r.map(Number));
  throw new WenxinError(
    "ERR_WENXIN_INVALID_ARGUMENT",
    `${what} must be non-empty token ids (number[]) or a batch of them (number[][])`,
    { subject: what },
  );
}

/**
 * Splits the accepted call shapes, generate(ids, options), generate(tokenizer(text), options) and
 * transformers.js' generate({ input_ids, ...options }), into unpadded prompt rows and options.
 */
export function splitGenerateArgs(
  inputs: GenerateInputs,
  options: Record<string, unknown> | undefined,
): { rows: number[][]; options: Record<string, unknown> } {
  let encoded: { input_ids: TokenRows; attention_mask?: TokenRows };
  let rest = options ?? {};
  if (Array.isArray(inputs) || inputs instanceof Tensor) encoded = { input_ids: inputs };
  else if (inputs && typeof inputs === "object" && "input_ids" in inputs) {
    const { input_ids, attention_mask, token_type_ids: _types, ...others } = inputs as Record<string, unknown>;
    encoded = { input_ids: input_ids as TokenRows, attention_mask: attention_mask as TokenRows | undefined };
    rest = { ...others, ...rest };
  } else
    throw new WenxinError(
      "ERR_WENXIN_INVALID_ARGUMENT",
      "generate() expects token ids, a batch of them, a Tensor, or { input_ids, attention_mask }",
    );
  const ids = toRows(encoded.input_ids, "input_ids");
  if (encoded.attention_mask === undefined) return { rows: ids, options: rest };
  const mask = toRows(encoded.attention_mask, "attention_mask");
  if (mask.length !== ids.length || mask.some((m, i) => m.length !== ids[i]!.length))
    throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "attention_mask must have the shape of input_ids", {
      subject: "attention_mask",
    });
  // The engine runs each row on its own, so padding is simply dropped.
  return { rows: ids.map((row, i) => row.filter((_, j) => mask[i]![j] !== 0)), options: rest };
}

/** Engine request options for one row, after option > generation_config > transformers default. */
export function resolveEngineOptions(
  row: number[],
  opts: z.infer<typeof generateOptionsSchema>,
  modelConfig: GenerationConfig,
  rowIndex: number,
): GenerateOptions & { adapter?: string } {
  const gc = opts.generation_config ?? modelConfig;
  const pick = <K extends keyof z.infer<typeof generateOptionsSchema> & keyof GenerationConfig>(k: K) =>
    opts[k] !== undefined ? opts[k] : gc[k];
  let maxNew = opts.max_new_tokens ?? (opts.max_length === undefined ? (gc.max_new_tokens ?? undefined) : undefined);
  if (maxNew === undefined) {
    const maxLength = opts.max_length ?? gc.max_length;
    maxNew = maxLength - row.length;
    if (maxNew <= 0)
      throw new WenxinError(
        "ERR_WENXIN_INVALID_ARGUMENT",
        `the prompt has ${row.length} tokens, which already reaches max_length ${maxLength}; set max_new_tokens`,
        { subject: "max_length", expected: `> ${row.length}`, actual: maxLength },
      );
  }
  const eos = pick("eos_token_id");
  const stop =
    opts.stop_strings === undefined
      ? undefined
      : Array.isArray(opts.stop_strings)
        ? opts.stop_strings
        : [opts.stop_strings];
  return {
    inputIds: row,
    maxNewTokens: maxNew,
    doSample: pick("do_sample"),
    temperature: pick("temperature"),
    topK: pick("top_k"),
    topP: pick("top_p"),
    minP: pick("min_p") ?? 0,
    repetitionPenalty: pick("repetition_penalty"),
    stopTokenIds: eos === null || eos === undefined ? undefined : Array.isArray(eos) ? eos : [eos],
    stop,
    seed: opts.seed === undefined ? undefined : opts.seed + rowIndex,
  };
}

/**
 * Runs the rows as concurrent engine requests; `adapters[i]` names the LoRA adapter of row i
 * (undefined: the base model). A failed row cancels the others.
 */
export async function generateRows(
  engine: Engine,
  modelConfig: GenerationConfig,
  inputs: GenerateInputs,
  options: Record<string, unknown> | undefined,
  adapters?: (string | undefined)[],
): Promise<number[][]> {
  const split = splitGenerateArgs(inputs, options);
  const opts = parseOptions(generateOptionsSchema, split.options, "generate options");
  const { rows } = split;
  if (adapters && adapters.length !== rows.length)
    throw new WenxinError(
      "ERR_WENXIN_INVALID_ARGUMENT",
      `adapter_names has ${adapters.length} entries for ${rows.length} input rows`,
      {
        subject: "adapter_names",
        expected: rows.length,
        actual: adapters.length,
      },
    );
  const streamer = opts.streamer;
  if (streamer && rows.length > 1)
    throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "a streamer needs a batch of one sequence", {
      subject: "streamer",
    });

  const requests = rows.map((row, i) => resolveEngineOptions(row, opts, modelConfig, i));
  const cancel = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, cancel.signal]) : cancel.signal;
  // As transformers.js: a batch of rows of bigint ids, the prompt first, then each step's new ids.
  streamer?.put([rows[0]!.map((id) => BigInt(id))]);
  try {
    const results = await Promise.all(
      requests.map(async (request, i) => {
        try {
          const adapter = adapters?.[i];
          const stream = engine.generate({
            ...request,
            signal,
            ...(adapter !== undefined ? { adapter } : {}),
          } as GenerateOptions);
          const generated: number[] = [];
          for await (const ev of stream) {
            if (ev.type !== "token" || ev.tokenIds.length === 0) continue;
            generated.push(...ev.tokenIds);
            streamer?.put([ev.tokenIds.map((id) => BigInt(id))]);
          }
          return [...rows[i]!, ...generated];
        } catch (err) {
          cancel.abort();
          throw err;
        }
      }),
    );
    streamer?.end();
    return results;
  } catch (err) {
    if (streamer?.abort) streamer.abort(err);
    else if (streamer?.error) streamer.error(err);
    else streamer?.end();
    // A row cancelled because another failed reports the first failure, not its own abort.
    throw err;
  }
}

/**
 * transformers.js' result of generate(): the rows as an int64 Tensor [batch, longest], shorter
 * rows padded with `padId` on the right, or `{ sequences }` when asked with return_dict_in_generate.
 */
export async function generateOutput(
  engine: Engine,
  modelConfig: GenerationConfig,
  inputs: GenerateInputs,
  options: Record<string, unknown> | undefined,
  padId: number | undefined,
  adapters?: (string | undefined)[],
): Promise<Tensor | GenerateDictOutput> {
  const { options: merged } = splitGenerateArgs(inputs, options);
  const rows = await generateRows(engine, modelConfig, inputs, options, adapters);
  const pad = (merged.pad_token_id as number | null | undefined) ?? padId ?? 0;
  const width = Math.max(...rows.map((r) => r.length));
  const sequences = Tensor.ids(rows.map((r) => [...r, ...new Array<number>(width - r.length).fill(pad)]));
  return merged.return_dict_in_generate === true ? { sequences } : sequences;
}

/** How many rows `inputs` holds. */
export function batchSize(inputs: GenerateInputs): number {
  return splitGenerateArgs(inputs, undefined).rows.length;
}
