/**
 * The tokenizer in GGUF metadata (`tokenizer.ggml.*`, model "llama" = SentencePiece): written from
 * a checkpoint's tokenizer.model (or tokenizer.json), and read back into a WenxinTokenizer through
 * the same SentencePiece → tokenizer.json conversion the engine uses for tokenizer.model.
 * ggml token types use SentencePiece's numbering (1 normal, 2 unknown, 3 control, 4 user-defined,
 * 5 unused, 6 byte); tokens that tokenizer_config.json marks special are written as control tokens.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { WenxinError } from "../errors.js";
import {
  BYTE_PIECE,
  addedTokensFromConfig,
  convertSentencePieceBpe,
  tokenContent,
  type SpecialTokenName,
  type TokenizerConfig,
  type TokenizerJson,
} from "../tokenizer/sentencepiece_convert.js";
import {
  ModelType,
  PieceType,
  parseSentencePieceModel,
  type SentencePiece,
  type SentencePieceModel,
} from "../tokenizer/sentencepiece_model.js";
import { WenxinTokenizer } from "../tokenizer/tokenizer.js";
import type { GgufMetadataValue } from "./gguf_reader.js";
import type { GgufValue } from "./gguf_writer.js";

/** GGUF keys of the named special-token ids (llama.cpp spells "seperator" this way). */
const ID_KEYS: [SpecialTokenName, string][] = [
  ["bos_token", "tokenizer.ggml.bos_token_id"],
  ["eos_token", "tokenizer.ggml.eos_token_id"],
  ["unk_token", "tokenizer.ggml.unknown_token_id"],
  ["pad_token", "tokenizer.ggml.padding_token_id"],
  ["cls_token", "tokenizer.ggml.cls_token_id"],
  ["sep_token", "tokenizer.ggml.seperator_token_id"],
  ["mask_token", "tokenizer.ggml.mask_token_id"],
];

async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new WenxinError(
      "ERR_WENXIN_INVALID_FILE",
      `cannot read ${file}: ${(err as Error).message}`,
      { subject: file },
      { cause: err },
    );
  }
}

function parseJsonObject(file: string, bytes: Buffer): Record<string, unknown> {
  try {
    const v = JSON.parse(bytes.toString("utf8"));
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch (err) {
    throw new WenxinError("ERR_WENXIN_TOKENIZER", `${file} is not valid JSON`, { subject: file }, { cause: err });
  }
  throw new WenxinError("ERR_WENXIN_TOKENIZER", `${file} must hold a JSON object`, { subject: file });
}

/** Pieces of a tokenizer.json (SentencePiece-style BPE): scores are -id, the order SPM BPE vocabularies are in. */
function piecesFromTokenizerJson(json: TokenizerJson): SentencePieceModel {
  const vocab = json.model.vocab as Record<string, number>;
  const pieces: SentencePiece[] = [];
  for (const [piece, id] of Object.entries(vocab))
    pieces[id] = { piece, score: -id, type: BYTE_PIECE.test(piece) ? PieceType.BYTE : PieceType.NORMAL };
  for (const t of json.added_tokens ?? [])
    pieces[t.id] = { piece: t.content, score: 0, type: t.special ? PieceType.CONTROL : PieceType.USER_DEFINED };
  for (let i = 0; i < pieces.length; i++) pieces[i] ??= { piece: `[PAD${i}]`, score: 0, type: PieceType.UNUSED };
  const model = json.model as { unk_token?: string | null; byte_fallback?: boolean };
  const unk = model.unk_token ? vocab[model.unk_token] : undefined;
  if (unk !== undefined) pieces[unk]!.type = PieceType.UNKNOWN;
  return bpeModel(pieces, { byteFallback: model.byte_fallback ?? false, unkId: unk ?? 0, addDummyPrefix: false });
}

/**
 * A SentencePiece BPE model of `pieces` with the identity normalizer (ERNIE's; GGUF and
 * tokenizer.json keep none): what both the GGUF and the tokenizer.json paths convert from.
 */
function bpeModel(
  pieces: SentencePiece[],
  o: { byteFallback: boolean; unkId: number; bosId?: number; eosId?: number; padId?: number; addDummyPrefix: boolean },
): SentencePieceModel {
  return {
    pieces,
    trainerSpec: {
      modelType: ModelType.BPE,
      vocabSize: pieces.length,
      byteFallback: o.byteFallback,
      splitDigits: false,
      treatWhitespaceAsSuffix: false,
      unkId: o.unkId,
      bosId: o.bosId ?? -1,
      eosId: o.eosId ?? -1,
      padId: o.padId ?? -1,
      unkPiece: "<unk>",
      bosPiece: "<s>",
      eosPiece: "</s>",
      padPiece: "<pad>",
    },
    normalizerSpec: {
      name: "identity",
      precompiledCharsmap: new Uint8Array(0),
      addDummyPrefix: o.addDummyPrefix,
      removeExtraWhitespaces: false,
      escapeWhitespaces: true,
    },
  };
}

/**
 * `tokenizer.*` metadata for a checkpoint directory: pieces, scores and types from tokenizer.model
 * (else tokenizer.json), special tokens and flags from tokenizer_config.json, the chat template.
 * `vocabSize` pads the list with unused tokens up to the embedding's rows, as llama.cpp does.
 */
export async function ggufTokenizerMetadata(dir: string, vocabSize: number): Promise<Record<string, GgufValue>> {
  const configBytes = await readOptional(path.join(dir, "tokenizer_config.json"));
  const mapBytes = await readOptional(path.join(dir, "special_tokens_map.json"));
  const config: TokenizerConfig = {
    ...(mapBytes ? parseJsonObject("special_tokens_map.json", mapBytes) : {}),
    ...(configBytes ? parseJsonObject("tokenizer_config.json", configBytes) : {}),
  };
  const spm = await readOptional(path.join(dir, "tokenizer.model"));
  let model: SentencePieceModel;
  if (spm) {
    model = parseSentencePieceModel(spm);
  } else {
    const json = await readOptional(path.join(dir, "tokenizer.json"));
    if (!json)
      throw new WenxinError(
        "ERR_WENXIN_FILE_NOT_FOUND",
        `no tokenizer in ${dir}: GGUF conversion needs tokenizer.model or tokenizer.json`,
        { subject: dir },
      );
    model = piecesFromTokenizerJson(parseJsonObject("tokenizer.json", json) as unknown as TokenizerJson);
  }
  if (model.trainerSpec.modelType !== ModelType.BPE)
    throw new WenxinError(
      "ERR_WENXIN_TOKENIZER",
      "only SentencePiece BPE tokenizers can be written to GGUF (ERNIE's kind)",
      { subject: dir },
    );
  if (model.pieces.length > vocabSize)
    throw new WenxinError(
      "ERR_WENXIN_TOKENIZER",
      `the tokenizer has ${model.pieces.length} pieces, more than the model's vocab_size ${vocabSize}`,
      {
        subject: dir,
      },
    );

  const pieces = model.pieces.map((p) => ({ ...p }));
  for (const t of addedTokensFromConfig(config)) {
    if (t.id >= vocabSize) continue;
    pieces[t.id] = {
      piece: t.content,
      score: pieces[t.id]?.score ?? 0,
      type: t.special ? PieceType.CONTROL : PieceType.USER_DEFINED,
    };
  }
  for (let i = 0; i < vocabSize; i++) pieces[i] ??= { piece: `[PAD${i}]`, score: -1000, type: PieceType.UNUSED };

  const idOf = new Map<string, number>();
  pieces.forEach((p, i) => {
    if (!idOf.has(p.piece)) idOf.set(p.piece, i);
  });
  const ts = model.trainerSpec;
  const fallbackIds: Partial<Record<SpecialTokenName, number>> = {
    unk_token: ts.unkId,
    bos_token: ts.bosId,
    eos_token: ts.eosId,
    pad_token: ts.padId,
  };
  const meta: Record<string, GgufValue> = {
    "tokenizer.ggml.model": { type: "string", value: "llama" },
    "tokenizer.ggml.tokens": { type: "string[]", value: pieces.map((p) => p.piece) },
    "tokenizer.ggml.scores": { type: "f32[]", value: Float32Array.from(pieces, (p) => p.score) },
    "tokenizer.ggml.token_type": { type: "i32[]", value: Int32Array.from(pieces, (p) => p.type) },
  };
  for (const [name, key] of ID_KEYS) {
    const content = tokenContent(config[name]);
    const id = content !== undefined ? idOf.get(content) : fallbackIds[name];
    if (id !== undefined && id >= 0 && id < vocabSize) meta[key] = { type: "u32", value: id };
  }
  const addPrefix =
    typeof config.add_prefix_space === "boolean" ? config.add_prefix_space : model.normalizerSpec.addDummyPrefix;
  meta["tokenizer.ggml.add_space_prefix"] = { type: "bool", value: addPrefix };
  meta["tokenizer.ggml.add_bos_token"] = { type: "bool", value: config.add_bos_token === true };
  meta["tokenizer.ggml.add_eos_token"] = { type: "bool", value: config.add_eos_token === true };
  const template = await chatTemplateSource(dir, config);
  if (template !== undefined) meta["tokenizer.chat_template"] = { type: "string", value: template };
  return meta;
}

/** The chat template as transformers finds it: chat_template.jinja, then tokenizer_config.json. */
async function chatTemplateSource(dir: string, config: TokenizerConfig): Promise<string | undefined> {
  const jinja = await readOptional(path.join(dir, "chat_template.jinja"));
  if (jinja) return jinja.toString("utf8");
  const t = config.chat_template;
  if (typeof t === "string") return t;
  if (Array.isArray(t))
    return (t as { name?: string; template?: string }[]).find((x) => x.name === "default")?.template;
  return undefined;
}

function asNumberArray(v: GgufMetadataValue | undefined, key: string, n: number): number[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length !== n || v.some((x) => typeof x !== "number"))
    throw new WenxinError("ERR_WENXIN_TOKENIZER", `GGUF ${key} must be a list of ${n} numbers`, { subject: key });
  return v as number[];
}

/** A WenxinTokenizer from `tokenizer.ggml.*` metadata (SentencePiece "llama" vocabularies only). */
export function tokenizerFromGguf(metadata: Map<string, GgufMetadataValue>, file: string): WenxinTokenizer {
  const kind = metadata.get("tokenizer.ggml.model");
  if (kind !== "llama")
    throw new WenxinError(
      "ERR_WENXIN_TOKENIZER",
      `${file}: tokenizer.ggml.model is ${JSON.stringify(kind ?? null)}; only "llama" (SentencePiece, ERNIE's tokenizer) is supported`,
      { subject: file, expected: "llama", actual: kind },
    );
  const tokens = metadata.get("tokenizer.ggml.tokens");
  if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== "string"))
    throw new WenxinError(
      "ERR_WENXIN_TOKENIZER",
      `${file}: tokenizer.ggml.tokens is missing or not a list of strings`,
      { subject: file },
    );
  const scores = asNumberArray(metadata.get("tokenizer.ggml.scores"), "tokenizer.ggml.scores", tokens.length);
  const types = asNumberArray(metadata.get("tokenizer.ggml.token_type"), "tokenizer.ggml.token_type", tokens.length);
  const pieces: SentencePiece[] = (tokens as string[]).map((piece, i) => ({
    piece,
    score: scores?.[i] ?? -i,
    type: types?.[i] ?? PieceType.NORMAL,
  }));

  const config: TokenizerConfig = {};
  const idOf = (key: string): number | undefined => {
    const v = metadata.get(key);
    return typeof v === "number" && Number.isInteger(v) && v >= 0 && v < pieces.length ? v : undefined;
  };
  for (const [name, key] of [
    ...ID_KEYS,
    ["sep_token", "tokenizer.ggml.separator_token_id"] as [SpecialTokenName, string],
  ]) {
    const id = idOf(key);
    if (id !== undefined && config[name] === undefined) config[name] = pieces[id]!.piece;
  }
  const addPrefix = metadata.get("tokenizer.ggml.add_space_prefix");
  config.add_prefix_space = typeof addPrefix === "boolean" ? addPrefix : true; // llama.cpp's default for SentencePiece
  config.add_bos_token = metadata.get("tokenizer.ggml.add_bos_token") === true;
  config.add_eos_token = metadata.get("tokenizer.ggml.add_eos_token") === true;

  const unk = idOf("tokenizer.ggml.unknown_token_id") ?? pieces.findIndex((p) => p.type === PieceType.UNKNOWN);
  // GGUF keeps no normalizer: ERNIE's is the identity.
  const model = bpeModel(pieces, {
    byteFallback: pieces.some((p) => p.type === PieceType.BYTE),
    unkId: unk,
    bosId: idOf("tokenizer.ggml.bos_token_id"),
    eosId: idOf("tokenizer.ggml.eos_token_id"),
    padId: idOf("tokenizer.ggml.padding_token_id"),
    addDummyPrefix: config.add_prefix_space as boolean,
  });
  return WenxinTokenizer.fromJson(convertSentencePieceBpe(model, config), config);
}
