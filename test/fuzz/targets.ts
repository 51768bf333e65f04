// The TypeScript parsers of untrusted input, as fuzz targets (see fuzz_loop.ts). Seeds come from
// the fixtures (read only) and from seeds/; each target checks what must hold on every input.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { CHAT_MARKUP_TOKENS } from "../../packages/engine/src/chat/output_decoder.js";
import { ChatOutputParser } from "../../packages/engine/src/chat/output_parser.js";
import { compileGrammar } from "../../packages/engine/src/generation/grammar/byte_grammar.js";
import { parseGbnf } from "../../packages/engine/src/generation/grammar/gbnf_parser.js";
import { jsonSchemaGrammar } from "../../packages/engine/src/generation/grammar/json_schema_grammar.js";
import { regexFullMatch } from "../../packages/engine/src/generation/grammar/regex_parser.js";
import { parseModelConfig } from "../../packages/engine/src/model/config.js";
import {
  decodeTensorF32,
  encodeSafetensors,
  parseSafetensorsBuffer,
} from "../../packages/engine/src/model/safetensors_file.js";
import { resolveWeightFiles } from "../../packages/engine/src/model/weights.js";
import { convertSentencePieceBpe } from "../../packages/engine/src/tokenizer/sentencepiece_convert.js";
import { parseSentencePieceModel } from "../../packages/engine/src/tokenizer/sentencepiece_model.js";
import { WenxinTokenizer } from "../../packages/engine/src/tokenizer/tokenizer.js";
import { DENSE_DIR, LORA_DIR, MOE_DIR } from "../helpers/fixtures.js";
import { errorOutcome, text, type FuzzTarget } from "./fuzz_loop.js";

const SEEDS = path.join(path.dirname(new URL(import.meta.url).pathname), "seeds");
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const splitSeeds = (file: string): Uint8Array[] =>
  readFileSync(path.join(SEEDS, file), "utf8").split("\n%%\n").map(enc);

function invariant(ok: boolean, what: string): void {
  if (!ok) throw new Error(`invariant broken: ${what}`);
}

// --- SentencePiece tokenizer.model -----------------------------------------------------------

/** The fixture model with only its first `keep` pieces: top-level fields re-emitted as they are. */
function trimSentencePiece(buf: Uint8Array, keep: number): Uint8Array {
  const out: number[] = [];
  let pos = 0;
  let pieces = 0;
  const varint = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = buf[pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  while (pos < buf.length) {
    const start = pos;
    const tag = varint();
    const len = varint(); // every top-level field of ModelProto is length-delimited
    pos += len;
    if (tag >> 3 === 1 && pieces++ >= keep) continue;
    out.push(...buf.subarray(start, pos));
  }
  return Uint8Array.from(out);
}

let tokenizerBuilds = 0;
function exerciseTokenizer(tok: WenxinTokenizer): string {
  const ids = tok.encode("Hello 你好 123 <think>\n");
  for (const id of ids)
    invariant(
      Number.isInteger(id) && id >= 0 && id < tok.vocabSize,
      `encode gave id ${id} outside [0, ${tok.vocabSize})`,
    );
  tok.decode(ids);
  return `tok:${Math.min(ids.length, 9)}`;
}

const sentencepiece: FuzzTarget = {
  name: "sentencepiece_model",
  kind: "bytes",
  dict: ["\x0a", "\x12", "\x1a", "<0x41>", "▁", "<unk>", "<s>", "</s>"],
  maxLen: 200_000,
  seeds: () => {
    const full = new Uint8Array(readFileSync(path.join(DENSE_DIR, "tokenizer.model")));
    return [trimSentencePiece(full, 40), trimSentencePiece(full, 400), full];
  },
  run(input) {
    let model;
    try {
      model = parseSentencePieceModel(input);
    } catch (err) {
      return errorOutcome(err);
    }
    let json;
    try {
      json = convertSentencePieceBpe(model, {});
    } catch (err) {
      return `convert:${errorOutcome(err)}`;
    }
    // Building a tokenizer costs milliseconds: do it for one accepted model in eight.
    if (tokenizerBuilds++ % 8 !== 0) return `ok:${Math.min(model.pieces.length, 50)}:${model.trainerSpec.modelType}`;
    try {
      return exerciseTokenizer(WenxinTokenizer.fromJson(json, {}));
    } catch (err) {
      return `build:${errorOutcome(err)}`;
    }
  },
};

// --- tokenizer.json ----------------------------------------------------------------------------

/** The fixture tokenizer.json with the vocabulary cut to its first ids (merges kept where they still apply). */
function trimTokenizerJson(maxId: number): Uint8Array {
  const json = JSON.parse(readFileSync(path.join(DENSE_DIR, "tokenizer.json"), "utf8"));
  const vocab = Object.fromEntries(
    Object.entries(json.model.vocab as Record<string, number>).filter(([, id]) => id < maxId),
  );
  json.model.vocab = vocab;
  const has = (t: string): boolean => Object.hasOwn(vocab, t);
  json.model.merges = (json.model.merges as (string | string[])[]).filter((m) => {
    const [a, b] = Array.isArray(m) ? m : m.split(" ");
    return a !== undefined && b !== undefined && has(a) && has(b) && has(a + b);
  });
  json.added_tokens = (json.added_tokens as { id: number }[]).filter((t) => t.id < maxId);
  return enc(JSON.stringify(json));
}

const tokenizerJson: FuzzTarget = {
  name: "tokenizer_json",
  kind: "json",
  dict: [
    "model",
    "vocab",
    "merges",
    "added_tokens",
    "decoder",
    "normalizer",
    "pre_tokenizer",
    "BPE",
    "ByteFallback",
    "byte_fallback",
    "unk_token",
    "special",
    "type",
    "Sequence",
  ],
  maxLen: 100_000,
  seeds: () => [trimTokenizerJson(300), trimTokenizerJson(1200)],
  run(input) {
    let json: unknown;
    try {
      json = JSON.parse(text(input));
    } catch {
      return "syntax";
    }
    try {
      return exerciseTokenizer(WenxinTokenizer.fromJson(json as never, {}));
    } catch (err) {
      return errorOutcome(err);
    }
  },
};

// --- config.json ---------------------------------------------------------------------------------

const modelConfig: FuzzTarget = {
  name: "model_config",
  kind: "json",
  dict: [
    "hidden_size",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "moe_num_experts",
    "moe_k",
    "moe_layer_start_index",
    "rope_parameters",
    "rope_scaling",
    "architectures",
    "model_type",
    "ernie4_5_moe",
    "Ernie4_5_MoeForCausalLM",
    "eos_token_id",
  ],
  maxLen: 8192,
  seeds: () => [DENSE_DIR, MOE_DIR].map((d) => new Uint8Array(readFileSync(path.join(d, "config.json")))),
  run(input) {
    let raw: unknown;
    try {
      raw = JSON.parse(text(input));
    } catch {
      return "syntax";
    }
    try {
      const c = parseModelConfig(raw);
      const h = c.hparams;
      for (const [k, v] of Object.entries(h))
        if (typeof v === "number") invariant(Number.isFinite(v), `hparams.${k} is ${v}`);
      invariant(
        h.hiddenSize > 0 &&
          h.numAttentionHeads > 0 &&
          h.numKeyValueHeads > 0 &&
          h.numAttentionHeads % h.numKeyValueHeads === 0,
        "head counts",
      );
      return `ok:${h.modelType}:${h.moeNumExperts > 0}`;
    } catch (err) {
      return errorOutcome(err);
    }
  },
};

// --- safetensors headers (adapter files, checkpoints read by convert / inspect) ---------------------

/** The fixture adapter's first bytes: its header and a little data (inputs stay small). */
const safetensorsFile: FuzzTarget = {
  name: "safetensors_file",
  kind: "bytes",
  dict: [
    '"dtype"',
    '"shape"',
    '"data_offsets"',
    '"__metadata__"',
    '"BF16"',
    '"F32"',
    '"I64"',
    "[0,0]",
    "18446744073709551615",
  ],
  maxLen: 8192,
  seeds: () => {
    const buf = readFileSync(path.join(LORA_DIR, "adapter_model.safetensors"));
    const n = Math.min(...[...parseSafetensorsBuffer("adapter", buf).header.tensors.values()].map((t) => t.begin));
    const small = encodeSafetensors([
      { name: "a", dtype: "F32", shape: [2, 2], bytes: new Uint8Array(16) },
      { name: "b", dtype: "BF16", shape: [3], bytes: new Uint8Array(6) },
    ]);
    return [new Uint8Array(buf.subarray(0, Math.min(buf.length, n + 64))), new Uint8Array(small)];
  },
  run(input) {
    try {
      const { header, bytes } = parseSafetensorsBuffer("fuzz.safetensors", input);
      for (const t of header.tensors.values()) {
        invariant(t.begin >= 8 && t.begin <= t.end && t.end <= input.length, `tensor '${t.name}' range`);
        if (t.dtype === "F32" || t.dtype === "F16" || t.dtype === "BF16")
          decodeTensorF32("fuzz.safetensors", t, bytes(t));
      }
      return `ok:${Math.min(header.tensors.size, 4)}`;
    } catch (err) {
      return errorOutcome(err);
    }
  },
};

// --- model.safetensors.index.json ------------------------------------------------------------------

let indexDir: string | undefined;
const weightIndex: FuzzTarget = {
  name: "weights_index",
  kind: "json",
  dict: [
    "weight_map",
    "metadata",
    "model-00001-of-00002.safetensors",
    "../",
    "/etc/passwd",
    ".",
    "",
    "model.safetensors",
  ],
  maxLen: 16_384,
  seeds: () => [new Uint8Array(readFileSync(path.join(MOE_DIR, "model.safetensors.index.json")))],
  async run(input) {
    if (!indexDir) {
      indexDir = mkdtempSync(path.join(os.tmpdir(), "wenxin-fuzz-index-"));
      mkdirSync(path.join(indexDir, "model"));
      for (const shard of ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        writeFileSync(path.join(indexDir, "model", shard), "");
    }
    const dir = path.join(indexDir, "model");
    writeFileSync(path.join(dir, "model.safetensors.index.json"), input);
    try {
      const files = await resolveWeightFiles(dir);
      // A shard name is a file of the model directory: never a path that leaves it.
      for (const f of files)
        invariant(path.dirname(f) === dir, `shard path ${JSON.stringify(f)} leaves the model directory`);
      return `ok:${files.length}`;
    } catch (err) {
      return errorOutcome(err);
    }
  },
};

// --- constrained decoding: JSON schema, GBNF, regex -------------------------------------------------

function compiled(build: () => Parameters<typeof compileGrammar>[0]): string {
  try {
    const g = compileGrammar(build());
    invariant(g.rules[0]! >= 1 && g.sets.length % 8 === 0, "encoded grammar layout");
    return `ok:${Math.min(g.rules[0]!, 20)}`;
  } catch (err) {
    return errorOutcome(err);
  }
}

const jsonSchema: FuzzTarget = {
  name: "json_schema",
  kind: "json",
  dict: [
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "allOf",
    "$ref",
    "#/$defs/node",
    "$defs",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "minLength",
    "maxItems",
    "additionalProperties",
    "prefixItems",
    "object",
    "array",
    "string",
    "integer",
    "number",
    "null",
  ],
  maxLen: 16_384,
  seeds: () =>
    (JSON.parse(readFileSync(path.join(SEEDS, "json_schemas.json"), "utf8")) as unknown[]).map((s) =>
      enc(JSON.stringify(s)),
    ),
  run(input) {
    let schema: unknown;
    try {
      schema = JSON.parse(text(input));
    } catch {
      return "syntax";
    }
    return compiled(() => jsonSchemaGrammar(schema, "schema"));
  },
};

const gbnf: FuzzTarget = {
  name: "gbnf",
  kind: "bytes",
  dict: ["::=", "root", "|", "(", ")", "*", "+", "?", "{2,3}", "[^", "]", "\\x", "\\u", '"', "#", "\n"],
  maxLen: 4096,
  seeds: () => splitSeeds("gbnf.txt"),
  run: (input) => compiled(() => parseGbnf(text(input), "gbnf")),
};

const regex: FuzzTarget = {
  name: "regex",
  kind: "bytes",
  dict: ["(?:", "(?=", "[^", "\\d", "\\p{L}", "{1,", "}", "|", "^", "$", "\\u{1F600}", "*?", "\\"],
  maxLen: 1024,
  seeds: () => splitSeeds("regex.txt"),
  run: (input) =>
    compiled(() => ({
      rules: new Map([["root", { name: "root", body: regexFullMatch(text(input), "pattern") }]]),
      root: "root",
    })),
};

// --- streamed chat output (<think>, <response>, <tool_call>) ---------------------------------------

function parseAll(
  chunks: string[],
  options: ConstructorParameters<typeof ChatOutputParser>[0],
): ReturnType<ChatOutputParser["result"]> {
  let n = 0;
  const p = new ChatOutputParser({ ...options, newToolCallId: () => `call_${n++}` });
  for (const c of chunks) p.push(c);
  p.finish();
  return p.result();
}

const chatOutput: FuzzTarget = {
  name: "chat_output",
  kind: "bytes",
  dict: [...CHAT_MARKUP_TOKENS, '{"name": "f", "arguments": ', "{", "}", "\n", '\\"', '"'],
  maxLen: 4096,
  seeds: () => splitSeeds("chat_output.txt"),
  run(input) {
    // Byte 0 picks the options; the rest is the model's output, pushed whole and then in pieces
    // cut where the input says: the result must not depend on how the text was streamed.
    const flags = input[0] ?? 0;
    const options = { startInReasoning: (flags & 1) !== 0, parseToolCalls: (flags & 2) === 0 };
    const body = text(input.subarray(1));
    const whole = parseAll([body], options);
    const chunks: string[] = [];
    for (let i = 0, k = 1; i < body.length; k++) {
      const len = 1 + ((input[k % input.length] ?? 1) % 7);
      chunks.push(body.slice(i, i + len));
      i += len;
    }
    const streamed = parseAll(chunks, options);
    invariant(JSON.stringify(whole) === JSON.stringify(streamed), "streamed and whole parses differ");
    // Forced modes only need to end cleanly.
    parseAll(chunks, { ...options, stopAfterFirstToolCall: true });
    parseAll(chunks, { ...options, stopAfterJson: true });
    return `ok:${whole.content.length > 0}:${whole.reasoning.length > 0}:${whole.toolCalls.length}:${whole.invalidToolCalls.length}`;
  },
};

export const TARGETS: FuzzTarget[] = [
  sentencepiece,
  tokenizerJson,
  modelConfig,
  safetensorsFile,
  weightIndex,
  jsonSchema,
  gbnf,
  regex,
  chatOutput,
];
