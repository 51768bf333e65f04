/**
 * ERNIE 4.5 tokenizer: a thin, strict wrapper around @huggingface/tokenizers that reproduces the
 * transformers fast tokenizer (`encode(add_special_tokens=False)` / `decode`) from either
 * `tokenizer.json` or, failing that, a SentencePiece `tokenizer.model`.
 */
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { z } from "zod";
import { WenxinError } from "../errors.js";
import { parseJsonObject, readIfExists } from "../json_file.js";
import {
  BYTE_PIECE,
  SPECIAL_TOKEN_NAMES,
  addedTokensFromConfig,
  configSpecialTokenStrings,
  convertSentencePieceBpe,
  tokenContent,
  type AddedTokenJson,
  type SpecialTokenName,
  type TokenizerConfig,
  type TokenizerJson,
} from "./sentencepiece_convert.js";
import { parseSentencePieceModel } from "./sentencepiece_model.js";
import { TokenizerThread } from "./tokenizer_thread.js";

export type { SpecialTokenName, TokenizerConfig, TokenizerJson } from "./sentencepiece_convert.js";

export interface EncodeOptions {
  /** Apply the post-processor (BOS/EOS template). Default false; ERNIE's template adds nothing anyway. */
  addSpecialTokens?: boolean;
}

export interface EncodeAsyncOptions extends EncodeOptions {
  /** Cancels the encoding while it waits for the tokenizer thread. */
  signal?: AbortSignal;
}

/**
 * Texts of at most this many characters (all of a call's texts together) are encoded on the
 * calling thread by `encodeAsync`/`encodeAllAsync`: a few milliseconds at most. Longer ones go to
 * the tokenizer's worker thread.
 */
export const INLINE_ENCODE_CHARS = 1024;

export interface DecodeOptions {
  /** Drop special tokens (control/added tokens marked special) from the output. Default false. */
  skipSpecialTokens?: boolean;
}

/**
 * The slice of @huggingface/tokenizers' Tokenizer used here. Its published .d.ts files use
 * extensionless imports that NodeNext cannot resolve (the class types as `any`), so pin the shape.
 */
interface InnerTokenizer {
  model: { vocab: (string | undefined)[] } | null;
  decoder: { decode(tokens: string[]): string } | null;
  encode(text: string, options: { add_special_tokens: boolean }): { ids: (number | undefined)[] };
  token_to_id(token: string): number | undefined;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** True when the decoder config (possibly nested in a Sequence) contains a ByteFallback step. */
function hasByteFallback(decoder: unknown): boolean {
  if (!decoder || typeof decoder !== "object") return false;
  const d = decoder as { type?: unknown; decoders?: unknown };
  if (d.type === "ByteFallback") return true;
  return Array.isArray(d.decoders) && d.decoders.some(hasByteFallback);
}

/**
 * The Rust ByteFallback decoder turns a run of byte pieces that is not valid UTF-8 into one U+FFFD
 * per byte; the JS one uses TextDecoder's replacement instead. Pre-replace such runs so `decode`
 * matches transformers byte for byte.
 */
function replaceInvalidByteRuns(tokens: string[]): string[] {
  let out: string[] | undefined;
  for (let i = 0; i < tokens.length;) {
    if (!BYTE_PIECE.test(tokens[i])) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < tokens.length && BYTE_PIECE.test(tokens[j])) j++;
    const bytes = Uint8Array.from(tokens.slice(i, j), (t) => parseInt(t.slice(3, 5), 16));
    try {
      strictUtf8.decode(bytes);
    } catch {
      out ??= tokens.slice();
      out.fill("\uFFFD", i, j);
    }
    i = j;
  }
  return out ?? tokens;
}

/** What build() relies on before handing the JSON to @huggingface/tokenizers (downloaded files are untrusted). */
const tokenizerJsonShape = z
  .object({
    model: z
      .object({
        vocab: z.union([z.record(z.string(), z.number().int().nonnegative()), z.array(z.unknown())]).optional(),
      })
      .passthrough(),
    added_tokens: z
      .array(z.object({ id: z.number().int().nonnegative(), content: z.string() }).passthrough())
      .nullish(),
  })
  .passthrough();

/** Errors of the tokenizer library on a malformed tokenizer.json surface lazily; they become typed here. */
function tokenizerFailure(err: unknown, what: string, source = "tokenizer.json"): WenxinError {
  if (err instanceof WenxinError) return err;
  return new WenxinError(
    "ERR_WENXIN_TOKENIZER",
    `${source} cannot ${what}: ${(err as Error)?.message ?? String(err)}`,
    { subject: source },
    { cause: err },
  );
}

export class WenxinTokenizer {
  /** Number of ids, added tokens included: valid ids are [0, vocabSize). */
  readonly vocabSize: number;
  /** Named special tokens as declared (bos_token, eos_token, unk_token, pad_token, cls_token, sep_token, mask_token). */
  readonly specialTokens: Readonly<Partial<Record<SpecialTokenName, string>>>;
  /** Ids of every special token (added tokens marked special plus the named/extra special tokens). */
  readonly allSpecialIds: Set<number>;
  /** Which file the vocabulary came from. */
  readonly source: "tokenizer.json" | "tokenizer.model";

  private readonly vocab: readonly (string | undefined)[];
  private readonly fixByteRuns: boolean;
  /** Encodes long texts off the event loop, from a copy of this tokenizer (started on first use). */
  private readonly thread: TokenizerThread;

  private constructor(
    private readonly inner: InnerTokenizer,
    json: TokenizerJson,
    config: TokenizerConfig,
    source: "tokenizer.json" | "tokenizer.model",
    defaults: Partial<Record<SpecialTokenName, string>>,
  ) {
    this.source = source;
    // The worker rebuilds the tokenizer from the same JSON, serialised here (~2 MB for ERNIE 4.5's
    // vocabulary, a few ms) rather than keeping the parsed object alive for it.
    const spec = JSON.stringify({ json, config });
    this.thread = new TokenizerThread(() => spec);
    if (!inner.model) throw new WenxinError("ERR_WENXIN_TOKENIZER", "tokenizer.json has no model");
    this.vocab = inner.model.vocab;
    this.vocabSize = inner.model.vocab.length;
    this.fixByteRuns = hasByteFallback(json.decoder);

    const named: Partial<Record<SpecialTokenName, string>> = { ...defaults };
    for (const name of SPECIAL_TOKEN_NAMES) {
      const content = tokenContent(config[name]);
      if (content !== undefined) named[name] = content;
    }
    this.specialTokens = Object.freeze(named);

    this.allSpecialIds = new Set(json.added_tokens.filter((t) => t.special).map((t) => t.id));
    for (const s of [...Object.values(named), ...configSpecialTokenStrings(config)]) {
      const id = this.tokenToId(s);
      if (id !== undefined) this.allSpecialIds.add(id);
    }
  }

  /**
   * Loads `tokenizer.json` (+ `tokenizer_config.json`, `special_tokens_map.json` when present) from a
   * model directory, or converts `tokenizer.model` when there is no tokenizer.json.
   */
  static async fromDirectory(dir: string): Promise<WenxinTokenizer> {
    const configFile = path.join(dir, "tokenizer_config.json");
    const mapFile = path.join(dir, "special_tokens_map.json");
    const jsonFile = path.join(dir, "tokenizer.json");
    const modelFile = path.join(dir, "tokenizer.model");

    const configBytes = await readIfExists(configFile);
    const mapBytes = await readIfExists(mapFile);
    // Older repos keep the named special tokens in special_tokens_map.json; tokenizer_config.json wins.
    const config: TokenizerConfig = {
      ...(mapBytes ? parseJsonObject(mapFile, mapBytes.toString("utf8"), "ERR_WENXIN_TOKENIZER") : {}),
      ...(configBytes ? parseJsonObject(configFile, configBytes.toString("utf8"), "ERR_WENXIN_TOKENIZER") : {}),
    };

    const jsonBytes = await readIfExists(jsonFile);
    if (jsonBytes)
      return WenxinTokenizer.fromJson(
        parseJsonObject(jsonFile, jsonBytes.toString("utf8"), "ERR_WENXIN_TOKENIZER") as TokenizerJson,
        config,
      );

    const modelBytes = await readIfExists(modelFile);
    if (!modelBytes) {
      throw new WenxinError(
        "ERR_WENXIN_FILE_NOT_FOUND",
        `No tokenizer in ${dir}: looked for tokenizer.json and tokenizer.model`,
        {
          subject: dir,
          expected: ["tokenizer.json", "tokenizer.model"],
        },
      );
    }
    const model = parseSentencePieceModel(modelBytes);
    const defaults: Partial<Record<SpecialTokenName, string>> = {};
    const { trainerSpec: ts, pieces } = model;
    for (const [name, id] of [
      ["unk_token", ts.unkId],
      ["bos_token", ts.bosId],
      ["eos_token", ts.eosId],
      ["pad_token", ts.padId],
    ] as const) {
      if (id >= 0 && id < pieces.length) defaults[name] = pieces[id].piece;
    }
    return WenxinTokenizer.build(convertSentencePieceBpe(model, config), config, "tokenizer.model", defaults);
  }

  /** Builds a tokenizer from already-parsed tokenizer.json and tokenizer_config.json objects. */
  static fromJson(tokenizerJson: TokenizerJson, config: TokenizerConfig = {}): WenxinTokenizer {
    return WenxinTokenizer.build(tokenizerJson, config, "tokenizer.json", {});
  }

  private static build(
    json: TokenizerJson,
    config: TokenizerConfig,
    source: "tokenizer.json" | "tokenizer.model",
    defaults: Partial<Record<SpecialTokenName, string>>,
  ): WenxinTokenizer {
    if (!json || typeof json !== "object" || !json.model || typeof json.model !== "object") {
      throw new WenxinError("ERR_WENXIN_TOKENIZER", "tokenizer.json has no model section", {
        subject: "tokenizer.json",
      });
    }
    const shape = tokenizerJsonShape.safeParse(json);
    if (!shape.success) {
      const issue = shape.error.issues[0]!;
      throw new WenxinError("ERR_WENXIN_TOKENIZER", `${source}: '${issue.path.join(".")}' ${issue.message}`, {
        subject: source,
      });
    }
    const added: AddedTokenJson[] = Array.isArray(json.added_tokens) ? [...json.added_tokens] : [];
    const byId = new Set(added.map((t) => t.id));
    const byContent = new Set(added.map((t) => t.content));
    // Tokens the config declares but tokenizer.json lacks are added the way transformers does:
    // known ids from added_tokens_decoder, else the vocab id, else a fresh id after the vocab.
    for (const t of addedTokensFromConfig(config)) {
      if (!byId.has(t.id) && !byContent.has(t.content)) {
        added.push(t);
        byId.add(t.id);
        byContent.add(t.content);
      }
    }
    const vocab = (json.model.vocab ?? {}) as Record<string, number>;
    let nextId = 0;
    for (const id of Object.values(vocab)) nextId = Math.max(nextId, id + 1);
    for (const t of added) nextId = Math.max(nextId, t.id + 1);
    for (const content of [...Object.values(defaults), ...configSpecialTokenStrings(config)]) {
      if (content === undefined || byContent.has(content)) continue;
      const id = Object.hasOwn(vocab, content) ? vocab[content] : nextId++;
      added.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
      byContent.add(content);
    }
    added.sort((a, b) => a.id - b.id);
    const full: TokenizerJson = { ...json, added_tokens: added };

    let inner: InnerTokenizer;
    try {
      inner = new Tokenizer(full, config);
      // The library builds some parts on first use: a malformed one fails here, at load, not mid-request.
      inner.encode("a 1", { add_special_tokens: true });
      inner.encode("a 1", { add_special_tokens: false });
    } catch (err) {
      throw new WenxinError(
        "ERR_WENXIN_TOKENIZER",
        `Cannot build tokenizer: ${(err as Error).message}`,
        { subject: source },
        { cause: err },
      );
    }
    return new WenxinTokenizer(inner, full, config, source, defaults);
  }

  /** Text → ids. Special tokens written in the text are matched as single ids, as transformers does. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== "string") {
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "encode() expects a string", { actual: typeof text });
    }
    if (text.length === 0) return [];
    let ids: (number | undefined)[];
    try {
      ({ ids } = this.inner.encode(text, { add_special_tokens: opts.addSpecialTokens ?? false }));
    } catch (err) {
      throw tokenizerFailure(err, "encode this text", this.source);
    }
    if (ids.some((id) => id === undefined)) {
      throw new WenxinError(
        "ERR_WENXIN_TOKENIZER",
        "Text contains characters the vocabulary cannot represent (no unk token, no byte fallback)",
      );
    }
    return ids as number[];
  }

  /**
   * `encode`, without holding the event loop for a long text: one longer than
   * `INLINE_ENCODE_CHARS` is encoded on the tokenizer's worker thread (one text at a time, first
   * come first served), a shorter one here.
   */
  async encodeAsync(text: string, opts: EncodeAsyncOptions = {}): Promise<number[]> {
    if (typeof text !== "string" || text.length <= INLINE_ENCODE_CHARS) return this.encode(text, opts);
    const { ids } = await this.thread.encode([text], opts);
    return ids[0]!;
  }

  /**
   * Encodes `texts` in order until their tokens together pass `limit`, off the event loop when
   * they are long (as `encodeAsync`). Resolves with the ids of the texts encoded (all of them, or
   * up to the one that passed the limit) and their total token count.
   */
  async encodeAllAsync(
    texts: readonly string[],
    { limit = Infinity, signal }: { limit?: number; signal?: AbortSignal } = {},
  ): Promise<{ ids: number[][]; tokens: number }> {
    let chars = 0;
    for (const t of texts) {
      if (typeof t !== "string")
        throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "encode() expects a string", { actual: typeof t });
      chars += t.length;
    }
    if (chars > INLINE_ENCODE_CHARS) return this.thread.encode([...texts], { limit, signal });
    const ids: number[][] = [];
    let tokens = 0;
    for (const t of texts) {
      const one = this.encode(t);
      ids.push(one);
      tokens += one.length;
      if (tokens > limit) break;
    }
    return { ids, tokens };
  }

  /**
   * Starts the worker thread of `encodeAsync` now: it builds its copy of the tokenizer (hundreds of
   * milliseconds of a CPU for a 100k vocabulary), which the first long text would otherwise wait
   * for. A server calls this once its model is loaded.
   */
  startThread(): void {
    this.thread.warm();
  }

  /** Stops the tokenizer's worker thread, if it started (it never keeps the process alive). */
  close(): void {
    this.thread.close();
  }

  /** Ids → text, without clean-up of tokenization spaces; byte pieces become raw UTF-8. */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const token = this.idToToken(id);
      if (skip && this.allSpecialIds.has(id)) continue;
      tokens.push(token);
    }
    if (tokens.length === 0) return "";
    const pieces = this.fixByteRuns ? replaceInvalidByteRuns(tokens) : tokens;
    try {
      return this.inner.decoder ? this.inner.decoder.decode(pieces) : pieces.join(" ");
    } catch (err) {
      throw tokenizerFailure(err, "decode these ids", this.source);
    }
  }

  idToToken(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new WenxinError(
        "ERR_WENXIN_TOKEN_OUT_OF_RANGE",
        `Token id ${id} is outside the vocabulary [0, ${this.vocabSize})`,
        {
          expected: `[0, ${this.vocabSize})`,
          actual: id,
        },
      );
    }
    const token = this.vocab[id];
    if (token === undefined) {
      throw new WenxinError("ERR_WENXIN_TOKEN_OUT_OF_RANGE", `Token id ${id} is not assigned in the vocabulary`, {
        actual: id,
      });
    }
    return token;
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  isSpecial(id: number): boolean {
    return this.allSpecialIds.has(id);
  }
}
