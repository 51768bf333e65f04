/**
 * Builds a `tokenizer.json`-shaped object from a SentencePiece BPE model, the way transformers'
 * slow→fast conversion does for ERNIE/Llama-style SPM BPE tokenizers, so that repos shipping only
 * `tokenizer.model` tokenize exactly like those shipping `tokenizer.json`. Also holds the helpers
 * that read added/special tokens from `tokenizer_config.json` (shared with tokenizer.ts).
 */
import { WenxinError } from "../errors.js";
import { ModelType, PieceType, type SentencePieceModel } from "./sentencepiece_model.js";

/** One entry of tokenizer.json `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The parts of tokenizer.json this package reads or writes (the rest passes through untouched). */
export interface TokenizerJson {
  version?: string;
  truncation?: unknown;
  padding?: unknown;
  added_tokens: AddedTokenJson[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: { type?: string; vocab: Record<string, number> | unknown; [k: string]: unknown };
  [k: string]: unknown;
}

/** tokenizer_config.json as loaded; fields are validated where used. */
export type TokenizerConfig = Record<string, unknown>;

export const SPECIAL_TOKEN_NAMES = [
  "bos_token",
  "eos_token",
  "unk_token",
  "pad_token",
  "cls_token",
  "sep_token",
  "mask_token",
] as const;
export type SpecialTokenName = (typeof SPECIAL_TOKEN_NAMES)[number];

/** transformers writes a token either as a plain string or as a serialized AddedToken `{content, ...}`. */
export function tokenContent(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content;
  }
  return undefined;
}

/** `added_tokens_decoder` (id → AddedToken dict), as transformers 4.x and 5.x write it. */
export function addedTokensFromConfig(config: TokenizerConfig): AddedTokenJson[] {
  const decoder = config.added_tokens_decoder;
  if (!decoder || typeof decoder !== "object") return [];
  const out: AddedTokenJson[] = [];
  for (const [key, raw] of Object.entries(decoder as Record<string, unknown>)) {
    const id = Number(key);
    const content = tokenContent(raw);
    if (!Number.isInteger(id) || id < 0 || content === undefined) {
      throw new WenxinError("ERR_WENXIN_TOKENIZER", `tokenizer_config.json: bad added_tokens_decoder entry "${key}"`, {
        subject: "tokenizer_config.json",
      });
    }
    const t = raw as Partial<AddedTokenJson>;
    out.push({
      id,
      content,
      single_word: t.single_word ?? false,
      lstrip: t.lstrip ?? false,
      rstrip: t.rstrip ?? false,
      normalized: t.normalized ?? false,
      special: t.special ?? false,
    });
  }
  return out.sort((a, b) => a.id - b.id);
}

/**
 * Every token string the config declares special: the named ones, `additional_special_tokens`
 * (4.x) and `extra_special_tokens` (5.x list, or 4.x name→token map).
 */
export function configSpecialTokenStrings(config: TokenizerConfig): string[] {
  const out: string[] = [];
  const add = (v: unknown) => {
    const s = tokenContent(v);
    if (s !== undefined && !out.includes(s)) out.push(s);
  };
  for (const name of SPECIAL_TOKEN_NAMES) add(config[name]);
  for (const key of ["additional_special_tokens", "extra_special_tokens"]) {
    const v = config[key];
    if (Array.isArray(v)) v.forEach(add);
    else if (v && typeof v === "object") Object.values(v).forEach(add);
  }
  return out;
}

/** A byte-fallback piece such as `<0xE4>` (the ByteFallback decoder accepts either hex case). */
export const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;

/**
 * BPE merges recovered from the vocabulary: every split of a piece into two pieces that are both
 * in the vocab is a merge, ranked by the merged piece's score (SPM BPE scores are -rank), then by
 * shorter left part. This is the order transformers' converter produces.
 */
export function mergesFromPieces(model: SentencePieceModel): [string, string][] {
  const ids = new Map<string, number>();
  model.pieces.forEach((p, i) => ids.set(p.piece, i));
  const merges: { l: string; r: string; score: number; ll: number; rl: number }[] = [];
  for (const p of model.pieces) {
    // Only normal pieces are produced by merging; control/user/byte pieces are matched whole.
    if (p.type !== PieceType.NORMAL) continue;
    const chars = Array.from(p.piece); // split by code point, as Python slicing does
    const local: typeof merges = [];
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join("");
      const r = chars.slice(k).join("");
      if (ids.has(l) && ids.has(r)) local.push({ l, r, score: p.score, ll: k, rl: chars.length - k });
    }
    local.sort((a, b) => ids.get(a.l)! - ids.get(b.l)! || ids.get(a.r)! - ids.get(b.r)!);
    merges.push(...local);
  }
  // Array.prototype.sort is stable, so equal keys keep vocab order.
  merges.sort((a, b) => b.score - a.score || a.ll - b.ll || a.rl - b.rl);
  return merges.map((m) => [m.l, m.r]);
}

function addedToken(id: number, content: string, special: boolean): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special };
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/**
 * Converts a parsed SentencePiece BPE model (plus tokenizer_config.json, which may be empty) into a
 * tokenizer.json object. Unigram/word/char models are rejected: ERNIE only ships BPE.
 */
export function convertSentencePieceBpe(model: SentencePieceModel, config: TokenizerConfig = {}): TokenizerJson {
  const { trainerSpec: ts, normalizerSpec: ns, pieces } = model;
  if (ts.modelType !== ModelType.BPE) {
    const name = Object.entries(ModelType).find(([, v]) => v === ts.modelType)?.[0] ?? String(ts.modelType);
    throw new WenxinError(
      "ERR_WENXIN_TOKENIZER",
      `tokenizer.model is a SentencePiece ${name} model; only BPE models are supported (ship a tokenizer.json instead)`,
      { subject: "tokenizer.model", expected: "BPE", actual: name },
    );
  }
  if (ts.treatWhitespaceAsSuffix) {
    throw new WenxinError(
      "ERR_WENXIN_TOKENIZER",
      "tokenizer.model uses treat_whitespace_as_suffix, which is not supported",
      {
        subject: "tokenizer.model",
      },
    );
  }

  const vocab: Record<string, number> = {};
  pieces.forEach((p, i) => {
    vocab[p.piece] = i;
  });

  // Control and user-defined pieces (and <unk>) become added tokens, so they are matched whole in
  // text like transformers does; control pieces are special. The config's added_tokens_decoder wins.
  const named = new Set(configSpecialTokenStrings(config));
  const added = new Map<number, AddedTokenJson>();
  pieces.forEach((p, i) => {
    if (p.type === PieceType.CONTROL || p.type === PieceType.UNKNOWN || p.type === PieceType.USER_DEFINED) {
      added.set(i, addedToken(i, p.piece, p.type !== PieceType.USER_DEFINED || named.has(p.piece)));
    }
  });
  for (const t of addedTokensFromConfig(config)) added.set(t.id, t);

  // add_prefix_space in the config overrides the model's add_dummy_prefix (as in transformers).
  const addPrefix = typeof config.add_prefix_space === "boolean" ? config.add_prefix_space : ns.addDummyPrefix;
  const prependScheme = addPrefix ? (config.legacy === false ? "first" : "always") : "never";

  const decoders: unknown[] = [{ type: "Replace", pattern: { String: "▁" }, content: " " }];
  if (ts.byteFallback) decoders.push({ type: "ByteFallback" });
  decoders.push({ type: "Fuse" });
  // The dummy prefix space must not come back when decoding.
  if (addPrefix) decoders.push({ type: "Strip", content: " ", start: 1, stop: 0 });

  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [...added.values()].sort((a, b) => a.id - b.id),
    normalizer:
      ns.precompiledCharsmap.length > 0
        ? { type: "Precompiled", precompiled_charsmap: toBase64(ns.precompiledCharsmap) }
        : null,
    pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: prependScheme, split: false },
    post_processor: postProcessor(config, vocab),
    decoder: { type: "Sequence", decoders },
    model: {
      type: "BPE",
      dropout: null,
      // With byte fallback every character is representable, so no unk token (as in ERNIE's tokenizer.json).
      unk_token: ts.byteFallback ? null : ts.unkId >= 0 ? (pieces[ts.unkId]?.piece ?? null) : null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: ts.byteFallback,
      ignore_merges: false,
      vocab,
      merges: mergesFromPieces(model),
    },
  };
}

/** TemplateProcessing honouring add_bos_token / add_eos_token (both off for ERNIE, and by default here). */
function postProcessor(config: TokenizerConfig, vocab: Record<string, number>): unknown {
  const single: unknown[] = [];
  const pair: unknown[] = [];
  const specials: Record<string, unknown> = {};
  const special = (name: "bos_token" | "eos_token", typeId: number) => {
    const content = tokenContent(config[name]);
    if (content === undefined || vocab[content] === undefined) return undefined;
    specials[content] = { id: content, ids: [vocab[content]], tokens: [content] };
    return { SpecialToken: { id: content, type_id: typeId } };
  };
  const bos = config.add_bos_token === true;
  const eos = config.add_eos_token === true;
  for (const [seq, typeId] of [
    ["A", 0],
    ["B", 1],
  ] as const) {
    const pre = bos ? special("bos_token", typeId) : undefined;
    const post = eos ? special("eos_token", typeId) : undefined;
    const items = [pre, { Sequence: { id: seq, type_id: typeId } }, post].filter((x) => x !== undefined);
    if (seq === "A") single.push(...items);
    pair.push(...items);
  }
  return { type: "TemplateProcessing", single, pair, special_tokens: specials };
}
