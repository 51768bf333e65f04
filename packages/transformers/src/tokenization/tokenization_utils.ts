/**
 * PreTrainedTokenizer: transformers' tokenizer surface (`tokenizer(text)`, encode/decode,
 * batch_decode, tokenize, apply_chat_template) over the engine's WenxinTokenizer and ChatTemplate,
 * which reproduce the transformers fast tokenizer and the model's Jinja template.
 */
import path from "node:path";

import { ChatTemplate, WenxinError, WenxinTokenizer, type ChatMessage, type Engine } from "@wenxin/engine";
import { z } from "zod";
import { TOKENIZER_FILES, readJsonObjectFile, resolvePretrained } from "@wenxin/engine/internal";

import { hubOptions, parsePretrainedOptions, type PretrainedOptions } from "../models/pretrained_options.js";
import { Callable } from "../utils/callable.js";
import { parseOptions } from "../utils/options.js";
import { Tensor } from "../utils/tensor.js";

/** What `tokenizer(...)` returns: int64 Tensors of dims [batch, length] by default, plain arrays with `return_tensor: false`. */
export interface BatchEncoding<T extends number[] | number[][] | Tensor = Tensor<BigInt64Array>> {
  input_ids: T;
  attention_mask: T;
  /** With `return_token_type_ids: true`: 0 for `text`, 1 for `text_pair`. */
  token_type_ids?: T;
}

const callOptionsSchema = z
  .object({
    /** A second sequence per text (the same type as `text`), encoded after it. */
    text_pair: z
      .union([z.string(), z.array(z.string())])
      .nullable()
      .optional(),
    /** ERNIE's post-processor adds nothing; kept for transformers compatibility (default true). */
    add_special_tokens: z.boolean().optional(),
    /** Pad a batch to its longest row (true / "longest") or to max_length ("max_length") with the pad token. */
    padding: z.union([z.boolean(), z.literal("longest"), z.literal("max_length")]).optional(),
    padding_side: z.enum(["left", "right"]).optional(),
    /** Cut rows longer than max_length (default the tokenizer's model_max_length). */
    truncation: z.boolean().nullable().optional(),
    max_length: z.number().int().positive().nullable().optional(),
    /** int64 Tensors (default, as transformers.js) or plain arrays (false). */
    return_tensor: z.boolean().optional(),
    /** Python's spelling: any value asks for Tensors. */
    return_tensors: z.string().optional(),
    return_token_type_ids: z.boolean().nullable().optional(),
    /** Always returned; accepted for compatibility. */
    return_attention_mask: z.literal(true).optional(),
  })
  .strict();
export type TokenizerCallOptions = z.input<typeof callOptionsSchema>;

/** Ids as decode() takes them: numbers, bigints (transformers.js' int64), or a Tensor of one row. */
export type TokenIds = ArrayLike<number> | readonly bigint[] | BigInt64Array | Tensor;

export interface DecodeOptions {
  skip_special_tokens?: boolean;
  /** Default from tokenizer_config.json (false for ERNIE). */
  clean_up_tokenization_spaces?: boolean;
}

export interface ChatTemplateOptions {
  /** Append the assistant prefix that starts a reply (default false, as in transformers). */
  add_generation_prompt?: boolean;
  /** Return token ids (default) or, with false, the rendered text. */
  tokenize?: boolean;
  /** With tokenize: return { input_ids, attention_mask } (default true, as in transformers.js v3) or only the ids. */
  return_dict?: boolean;
  /** With tokenize: Tensors (default) or plain arrays. */
  return_tensor?: boolean;
  /** Tokenizer options, not template variables. */
  padding?: boolean | "longest" | "max_length";
  truncation?: boolean | null;
  max_length?: number | null;
  /** More tokenizer options (transformers.js). */
  tokenizer_kwargs?: TokenizerCallOptions;
  /** Documents for retrieval-augmented templates. */
  documents?: Record<string, string>[];
  /** Tool schemas rendered into the prompt. */
  tools?: unknown[];
  /** A Jinja template to use instead of the model's. */
  chat_template?: string;
  /** Further variables for the template (e.g. enable_thinking). */
  [variable: string]: unknown;
}

type NamedSpecial = "bos_token" | "eos_token" | "unk_token" | "pad_token" | "cls_token" | "sep_token" | "mask_token";

function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

export interface PreTrainedTokenizer {
  (text: string, options: TokenizerCallOptions & { return_tensor: false }): BatchEncoding<number[]>;
  (text: string[], options: TokenizerCallOptions & { return_tensor: false }): BatchEncoding<number[][]>;
  (text: string | string[], options?: TokenizerCallOptions): BatchEncoding<Tensor<BigInt64Array>>;
}

export class PreTrainedTokenizer extends Callable<
  [string | string[], TokenizerCallOptions?],
  BatchEncoding<number[]> | BatchEncoding<number[][]> | BatchEncoding<Tensor<BigInt64Array>>
> {
  readonly padding_side: "left" | "right";
  readonly model_max_length: number;
  private readonly cleanUpSpaces: boolean;

  constructor(
    /** The engine tokenizer doing the work. */
    readonly inner: WenxinTokenizer,
    private readonly template: ChatTemplate | undefined,
    /** tokenizer_config.json contents (empty when absent). */
    readonly config: Record<string, unknown> = {},
    readonly name_or_path = "",
  ) {
    super();
    this.padding_side = config.padding_side === "left" ? "left" : "right";
    this.model_max_length = typeof config.model_max_length === "number" ? config.model_max_length : 131072;
    this.cleanUpSpaces = config.clean_up_tokenization_spaces === true;
  }

  static async from_pretrained(idOrPath: string, options: PretrainedOptions = {}): Promise<PreTrainedTokenizer> {
    const opts = parsePretrainedOptions(options, "AutoTokenizer.from_pretrained options");
    const { dir } = await resolvePretrained(idOrPath, TOKENIZER_FILES, hubOptions(opts));
    return PreTrainedTokenizer.fromDirectory(dir, idOrPath);
  }

  /** Loads tokenizer.json (or tokenizer.model), tokenizer_config.json and the chat template of `dir`. */
  static async fromDirectory(dir: string, nameOrPath = dir): Promise<PreTrainedTokenizer> {
    const inner = await WenxinTokenizer.fromDirectory(dir);
    return new PreTrainedTokenizer(inner, await loadTemplate(dir, inner), await readTokenizerConfig(dir), nameOrPath);
  }

  /** The tokenizer an engine already loaded (no second parse of tokenizer.json). */
  static async fromEngine(engine: Engine, nameOrPath = engine.dir): Promise<PreTrainedTokenizer> {
    return new PreTrainedTokenizer(
      engine.tokenizer,
      engine.chatTemplate,
      await readTokenizerConfig(engine.dir),
      nameOrPath,
    );
  }

  protected _call(
    text: string | string[],
    options?: TokenizerCallOptions,
  ): BatchEncoding<number[]> | BatchEncoding<number[][]> | BatchEncoding<Tensor<BigInt64Array>> {
    const opts = parseOptions(callOptionsSchema, options, "tokenizer options");
    const batched = Array.isArray(text);
    const texts = batched ? text : [text];
    if (texts.length === 0 || texts.some((t) => typeof t !== "string"))
      throw new WenxinError(
        "ERR_WENXIN_INVALID_ARGUMENT",
        "tokenizer() expects a string or a non-empty array of strings",
      );
    const pairs = opts.text_pair ?? undefined;
    if (pairs !== undefined && Array.isArray(pairs) !== batched)
      throw new WenxinError(
        "ERR_WENXIN_INVALID_ARGUMENT",
        "text_pair must be of text's type (a string, or an array of them)",
        {
          subject: "text_pair",
        },
      );
    if (Array.isArray(pairs) && pairs.length !== texts.length)
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "text and text_pair must have the same length", {
        subject: "text_pair",
      });
    const addSpecial = opts.add_special_tokens;
    // ERNIE's post-processor adds nothing around a pair either: the pair's ids follow the text's.
    const encoded = texts.map((t, i) => {
      const first = this.encode(t, { add_special_tokens: addSpecial });
      const pair = pairs === undefined ? undefined : Array.isArray(pairs) ? pairs[i]! : pairs;
      const second = pair === undefined ? [] : this.encode(pair, { add_special_tokens: addSpecial });
      return { ids: [...first, ...second], types: [...first.map(() => 0), ...second.map(() => 1)] };
    });
    const limit = Math.min(opts.max_length ?? this.model_max_length, this.model_max_length);
    const truncate = opts.truncation ?? (opts.max_length != null && !opts.padding);
    if (truncate)
      for (const e of encoded)
        if (e.ids.length > limit) [e.ids, e.types] = [e.ids.slice(0, limit), e.types.slice(0, limit)];
    const longest = Math.max(...encoded.map((e) => e.ids.length));
    const width = opts.padding === "max_length" ? limit : opts.padding ? longest : undefined;
    const rows = encoded.map((e) => ({
      input_ids: e.ids,
      attention_mask: e.ids.map(() => 1),
      token_type_ids: e.types,
    }));
    if (width !== undefined) {
      const pad = this.pad_token_id;
      if (pad === undefined)
        throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "padding needs a pad token, and this tokenizer has none", {
          subject: "padding",
        });
      const left = (opts.padding_side ?? this.padding_side) === "left";
      for (const r of rows) {
        const n = Math.max(0, width - r.input_ids.length);
        const fill = (v: number) => new Array<number>(n).fill(v);
        const padded = (xs: number[], v: number) => (left ? [...fill(v), ...xs] : [...xs, ...fill(v)]);
        [r.input_ids, r.attention_mask, r.token_type_ids] = [
          padded(r.input_ids, pad),
          padded(r.attention_mask, 0),
          padded(r.token_type_ids, 0),
        ];
      }
    }
    const withTypes = opts.return_token_type_ids === true;
    const tensors = opts.return_tensor ?? true;
    if (tensors) {
      if (rows.some((r) => r.input_ids.length !== rows[0]!.input_ids.length))
        throw new WenxinError(
          "ERR_WENXIN_INVALID_ARGUMENT",
          "the texts have different lengths, so they cannot form one Tensor: pass padding: true (and truncation: true), or return_tensor: false",
          { subject: "padding" },
        );
      return {
        input_ids: Tensor.ids(rows.map((r) => r.input_ids)),
        attention_mask: Tensor.ids(rows.map((r) => r.attention_mask)),
        ...(withTypes ? { token_type_ids: Tensor.ids(rows.map((r) => r.token_type_ids)) } : {}),
      };
    }
    const pick = <K extends "input_ids" | "attention_mask" | "token_type_ids">(k: K) => rows.map((r) => r[k]);
    if (!batched)
      return {
        input_ids: rows[0]!.input_ids,
        attention_mask: rows[0]!.attention_mask,
        ...(withTypes ? { token_type_ids: rows[0]!.token_type_ids } : {}),
      };
    return {
      input_ids: pick("input_ids"),
      attention_mask: pick("attention_mask"),
      ...(withTypes ? { token_type_ids: pick("token_type_ids") } : {}),
    };
  }

  /** Text → ids. Special tokens written in the text become their ids, as in transformers. */
  encode(text: string, options: { add_special_tokens?: boolean } = {}): number[] {
    return this.inner.encode(text, { addSpecialTokens: options.add_special_tokens ?? true });
  }

  decode(ids: TokenIds, options: DecodeOptions = {}): string {
    let row: number[];
    if (ids instanceof Tensor) {
      const rows = ids.toRows();
      if (rows.length !== 1)
        throw new WenxinError(
          "ERR_WENXIN_INVALID_ARGUMENT",
          "decode() takes one sequence; use batch_decode() for a batch",
        );
      row = rows[0]!;
    } else row = Array.from(ids as ArrayLike<number | bigint>, Number);
    const text = this.inner.decode(row, { skipSpecialTokens: options.skip_special_tokens ?? false });
    return (options.clean_up_tokenization_spaces ?? this.cleanUpSpaces) ? cleanUpTokenization(text) : text;
  }

  batch_decode(batch: TokenIds[] | Tensor, options: DecodeOptions = {}): string[] {
    if (batch instanceof Tensor) return batch.toRows().map((ids) => this.decode(ids, options));
    return Array.from(batch, (ids) => this.decode(ids, options));
  }

  /** Text → token strings (no special tokens added). */
  tokenize(text: string): string[] {
    return this.inner.encode(text).map((id) => this.inner.idToToken(id));
  }

  convert_tokens_to_ids(tokens: string): number | undefined;
  convert_tokens_to_ids(tokens: string[]): (number | undefined)[];
  convert_tokens_to_ids(tokens: string | string[]): number | undefined | (number | undefined)[] {
    return typeof tokens === "string" ? this.inner.tokenToId(tokens) : tokens.map((t) => this.inner.tokenToId(t));
  }

  convert_ids_to_tokens(ids: number): string;
  convert_ids_to_tokens(ids: number[]): string[];
  convert_ids_to_tokens(ids: number | number[]): string | string[] {
    return typeof ids === "number" ? this.inner.idToToken(ids) : ids.map((id) => this.inner.idToToken(id));
  }

  /**
   * Renders a conversation with the model's chat template. As in transformers.js v3: with
   * `tokenize` (default) it returns `{ input_ids, attention_mask }` Tensors (`return_dict: false`:
   * the ids alone; `return_tensor: false`: plain arrays); `tokenize: false` gives the text.
   * Tokenizer options (padding, truncation, max_length, tokenizer_kwargs) are not template variables.
   */
  apply_chat_template(messages: ChatMessage[], options: ChatTemplateOptions & { tokenize: false }): string;
  apply_chat_template(
    messages: ChatMessage[],
    options: ChatTemplateOptions & { return_dict: false; return_tensor: false },
  ): number[];
  apply_chat_template(
    messages: ChatMessage[],
    options: ChatTemplateOptions & { return_dict: false },
  ): Tensor<BigInt64Array>;
  apply_chat_template(
    messages: ChatMessage[],
    options: ChatTemplateOptions & { return_tensor: false },
  ): BatchEncoding<number[]>;
  apply_chat_template(messages: ChatMessage[], options?: ChatTemplateOptions): BatchEncoding<Tensor<BigInt64Array>>;
  apply_chat_template(
    messages: ChatMessage[],
    options: ChatTemplateOptions = {},
  ): string | number[] | Tensor | BatchEncoding<number[]> | BatchEncoding<Tensor<BigInt64Array>> {
    const {
      add_generation_prompt,
      tokenize,
      return_dict,
      return_tensor,
      padding,
      truncation,
      max_length,
      tokenizer_kwargs,
      tools,
      documents,
      chat_template,
      ...extra
    } = options;
    const template = chat_template !== undefined ? new ChatTemplate(chat_template, this.inner) : this.template;
    if (!template)
      throw new WenxinError(
        "ERR_WENXIN_CHAT_TEMPLATE",
        `${this.name_or_path || "this tokenizer"} has no chat template; pass { chat_template }`,
      );
    const text = template.render(messages, {
      addGenerationPrompt: add_generation_prompt ?? false,
      tools,
      extra: documents !== undefined ? { ...extra, documents } : extra,
    });
    if (tokenize === false) return text;
    // The template already wrote the special tokens.
    const encoded = this._call(text, {
      add_special_tokens: false,
      ...(padding !== undefined ? { padding } : {}),
      ...(truncation !== undefined ? { truncation } : {}),
      ...(max_length !== undefined ? { max_length } : {}),
      return_tensor: return_tensor ?? true,
      ...tokenizer_kwargs,
    }) as BatchEncoding<number[]> | BatchEncoding<Tensor<BigInt64Array>>;
    return (return_dict ?? true) ? encoded : encoded.input_ids;
  }

  /** The model's chat template source, if it has one. */
  get chat_template(): string | undefined {
    return this.template?.source;
  }

  get vocab_size(): number {
    return this.inner.vocabSize;
  }

  get all_special_ids(): number[] {
    return [...this.inner.allSpecialIds].sort((a, b) => a - b);
  }

  get all_special_tokens(): string[] {
    return this.all_special_ids.map((id) => this.inner.idToToken(id));
  }

  get bos_token(): string | undefined {
    return this.inner.specialTokens.bos_token;
  }
  get eos_token(): string | undefined {
    return this.inner.specialTokens.eos_token;
  }
  get unk_token(): string | undefined {
    return this.inner.specialTokens.unk_token;
  }
  get pad_token(): string | undefined {
    return this.inner.specialTokens.pad_token;
  }
  get cls_token(): string | undefined {
    return this.inner.specialTokens.cls_token;
  }
  get sep_token(): string | undefined {
    return this.inner.specialTokens.sep_token;
  }
  get mask_token(): string | undefined {
    return this.inner.specialTokens.mask_token;
  }
  get bos_token_id(): number | undefined {
    return this.idOf("bos_token");
  }
  get eos_token_id(): number | undefined {
    return this.idOf("eos_token");
  }
  get unk_token_id(): number | undefined {
    return this.idOf("unk_token");
  }
  get pad_token_id(): number | undefined {
    return this.idOf("pad_token");
  }
  get cls_token_id(): number | undefined {
    return this.idOf("cls_token");
  }
  get sep_token_id(): number | undefined {
    return this.idOf("sep_token");
  }
  get mask_token_id(): number | undefined {
    return this.idOf("mask_token");
  }

  private idOf(name: NamedSpecial): number | undefined {
    const token = this.inner.specialTokens[name];
    return token === undefined ? undefined : this.inner.tokenToId(token);
  }
}

async function readTokenizerConfig(dir: string): Promise<Record<string, unknown>> {
  try {
    return await readJsonObjectFile(path.join(dir, "tokenizer_config.json"));
  } catch (err) {
    if (err instanceof WenxinError && err.code === "ERR_WENXIN_FILE_NOT_FOUND") return {};
    throw err;
  }
}

async function loadTemplate(dir: string, tokenizer: WenxinTokenizer): Promise<ChatTemplate | undefined> {
  try {
    return await ChatTemplate.fromDirectory(dir, tokenizer);
  } catch (err) {
    if (err instanceof WenxinError && err.code === "ERR_WENXIN_CHAT_TEMPLATE" && /^No chat template/.test(err.message))
      return undefined;
    throw err;
  }
}
