/**
 * PreTrainedTokenizer: transformers' tokenizer surface (`tokenizer(text)`, encode/decode,
 * batch_decode, tokenize, apply_chat_template) over the engine's WenxinTokenizer and ChatTemplate,
 * which reproduce the transformers fast tokenizer and the model's Jinja template.
 */
import path from "node:path";

import { ChatTemplate, WenxinError, WenxinTokenizer, type ChatMessage, type Engine } from "@wenxin/engine";
import { z } from "zod";
import { TOKENIZER_FILES, resolvePretrained } from "@wenxin/engine/internal";

import { readJson } from "../models/configuration_utils.js";
import { hubOptions, parsePretrainedOptions, type PretrainedOptions } from "../models/pretrained_options.js";
import { Callable } from "../utils/callable.js";
import { parseOptions } from "../utils/options.js";

export interface BatchEncoding<T extends number[] | number[][]> {
  input_ids: T;
  attention_mask: T;
}

const callOptionsSchema = z
  .object({
    /** ERNIE's post-processor adds nothing; kept for transformers compatibility (default true). */
    add_special_tokens: z.boolean().optional(),
    /** Pad a batch to its longest row with the pad token ("longest" = true). */
    padding: z.union([z.boolean(), z.literal("longest")]).optional(),
    padding_side: z.enum(["left", "right"]).optional(),
    /** Cut rows longer than max_length (default the tokenizer's model_max_length). */
    truncation: z.boolean().optional(),
    max_length: z.number().int().positive().optional(),
    /** Accepted for compatibility; results are always plain arrays. */
    return_tensors: z.string().optional(),
  })
  .strict();
export type TokenizerCallOptions = z.infer<typeof callOptionsSchema>;

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
  /** With tokenize: return { input_ids, attention_mask } instead of the ids. */
  return_dict?: boolean;
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
  (text: string, options?: TokenizerCallOptions): BatchEncoding<number[]>;
  (text: string[], options?: TokenizerCallOptions): BatchEncoding<number[][]>;
}

export class PreTrainedTokenizer extends Callable<
  [string | string[], TokenizerCallOptions?],
  BatchEncoding<number[]> | BatchEncoding<number[][]>
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
  ): BatchEncoding<number[]> | BatchEncoding<number[][]> {
    const opts = parseOptions(callOptionsSchema, options, "tokenizer options");
    const encodeOne = (t: string) => {
      const ids = this.encode(t, { add_special_tokens: opts.add_special_tokens });
      const limit = opts.max_length ?? this.model_max_length;
      return opts.truncation && ids.length > limit ? ids.slice(0, limit) : ids;
    };
    if (typeof text === "string") {
      const ids = encodeOne(text);
      return { input_ids: ids, attention_mask: ids.map(() => 1) };
    }
    if (!Array.isArray(text) || text.some((t) => typeof t !== "string"))
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "tokenizer() expects a string or an array of strings");
    const rows = text.map(encodeOne);
    if (!opts.padding) return { input_ids: rows, attention_mask: rows.map((r) => r.map(() => 1)) };
    const pad = this.pad_token_id;
    if (pad === undefined)
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "padding needs a pad token, and this tokenizer has none");
    const width = Math.max(0, ...rows.map((r) => r.length));
    const left = (opts.padding_side ?? this.padding_side) === "left";
    const fill = (n: number, v: number) => new Array<number>(n).fill(v);
    return {
      input_ids: rows.map((r) =>
        left ? [...fill(width - r.length, pad), ...r] : [...r, ...fill(width - r.length, pad)],
      ),
      attention_mask: rows.map((r) =>
        left
          ? [...fill(width - r.length, 0), ...fill(r.length, 1)]
          : [...fill(r.length, 1), ...fill(width - r.length, 0)],
      ),
    };
  }

  /** Text → ids. Special tokens written in the text become their ids, as in transformers. */
  encode(text: string, options: { add_special_tokens?: boolean } = {}): number[] {
    return this.inner.encode(text, { addSpecialTokens: options.add_special_tokens ?? true });
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const text = this.inner.decode(ids, { skipSpecialTokens: options.skip_special_tokens ?? false });
    return (options.clean_up_tokenization_spaces ?? this.cleanUpSpaces) ? cleanUpTokenization(text) : text;
  }

  batch_decode(batch: ArrayLike<number>[], options: DecodeOptions = {}): string[] {
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

  /** Renders a conversation with the model's chat template; token ids unless `tokenize: false`. */
  apply_chat_template(messages: ChatMessage[], options: ChatTemplateOptions & { tokenize: false }): string;
  apply_chat_template(
    messages: ChatMessage[],
    options: ChatTemplateOptions & { return_dict: true },
  ): BatchEncoding<number[]>;
  apply_chat_template(messages: ChatMessage[], options?: ChatTemplateOptions): number[];
  apply_chat_template(
    messages: ChatMessage[],
    options: ChatTemplateOptions = {},
  ): string | number[] | BatchEncoding<number[]> {
    const { add_generation_prompt, tokenize, return_dict, tools, chat_template, ...extra } = options;
    const template = chat_template !== undefined ? new ChatTemplate(chat_template, this.inner) : this.template;
    if (!template)
      throw new WenxinError(
        "ERR_WENXIN_CHAT_TEMPLATE",
        `${this.name_or_path || "this tokenizer"} has no chat template; pass { chat_template }`,
      );
    const text = template.render(messages, { addGenerationPrompt: add_generation_prompt ?? false, tools, extra });
    if (tokenize === false) return text;
    const ids = this.inner.encode(text); // the template already wrote the special tokens
    return return_dict ? { input_ids: ids, attention_mask: ids.map(() => 1) } : ids;
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
    return await readJson(path.join(dir, "tokenizer_config.json"));
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
