// Writes the native fuzz targets' seed corpora (fuzz/corpus/<target>/) from the test fixtures:
// small but valid safetensors images cut from the fixture checkpoints, the fixture config.json
// files, and byte grammars compiled by @wenxin/engine (run after `pnpm build`). Fixtures are only read.
//   node native/fuzz/make_seeds.mjs
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, "../../test/fixtures/ernie45");
const corpus = path.join(here, "corpus");

function out(target, name, bytes) {
  mkdirSync(path.join(corpus, target), { recursive: true });
  writeFileSync(path.join(corpus, target, name), bytes);
}

// The fixtures are read, and the seeds written, by @wenxin/engine's safetensors module.
const { encodeSafetensors, parseSafetensorsBuffer } = await import("../../packages/engine/dist/internal.js");

function readTensors(file) {
  const buf = readFileSync(file);
  const { header, bytes } = parseSafetensorsBuffer(file, buf);
  const tensors = [...header.tensors.values()].map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    bytes: bytes(t),
  }));
  return { buf, headerLength: header.dataStart - 8, tensors };
}

// safetensors_header: the small tensors of each fixture file, and a header cut off from its data.
const sources = {
  dense: path.join(fixtures, "tiny-ernie45-dense/model.safetensors"),
  moe: path.join(fixtures, "tiny-ernie45-moe/model-00001-of-00002.safetensors"),
  lora: path.join(fixtures, "tiny-ernie45-dense-lora/adapter_model.safetensors"),
};
for (const [label, file] of Object.entries(sources)) {
  const { buf, headerLength, tensors } = readTensors(file);
  const small = tensors.filter((t) => t.bytes.length <= 512).slice(0, 6);
  out("safetensors_header", `${label}_small.safetensors`, encodeSafetensors(small, { format: "pt" }));
  out("safetensors_header", `${label}_header_only.safetensors`, buf.subarray(0, Math.min(8 + headerLength, 4096)));
}
{
  // Every dtype the parser knows, plus one it does not, over the bytes of a real norm weight.
  const norm = readTensors(sources.dense).tensors.find((t) => t.name === "model.norm.weight");
  const b = norm.bytes.subarray(0, 64);
  out(
    "safetensors_header",
    "dtypes.safetensors",
    encodeSafetensors([
      { name: "f32", dtype: "F32", shape: [16], bytes: b },
      { name: "f16", dtype: "F16", shape: [4, 8], bytes: b },
      { name: "bf16", dtype: "BF16", shape: [32], bytes: b },
      { name: "i64", dtype: "I64", shape: [8], bytes: b },
      { name: "u8", dtype: "U8", shape: [2, 2, 16], bytes: b },
      { name: "f8", dtype: "F8_E4M3", shape: [64], bytes: b },
      { name: "odd", dtype: "Q4_K", shape: [3], bytes: b.subarray(0, 7) },
      { name: "empty", dtype: "F32", shape: [0, 4], bytes: Buffer.alloc(0) },
    ]),
  );
}

// hparams: the fixture configs as they are.
for (const model of ["tiny-ernie45-dense", "tiny-ernie45-moe"])
  out("hparams", `${model}.json`, readFileSync(path.join(fixtures, model, "config.json")));

// grammar: small constraints compiled by the engine, in the target's byte layout.
const { compileConstraint } = await import("../../packages/engine/dist/generation/constraint.js");
const constraints = {
  regex_digits: { type: "regex", pattern: "[0-9]{1,3}(\\.[0-9]+)?" },
  regex_words: { type: "regex", pattern: "(yes|no|maybe)!*" },
  gbnf_list: { type: "grammar", gbnf: 'root ::= "[" item ("," item)* "]"\nitem ::= [a-c]+' },
  gbnf_nested: { type: "grammar", gbnf: 'root ::= "(" root ")" | "x"' },
  schema_bool: { type: "json_schema", schema: { type: "boolean" } },
  schema_enum: { type: "json_schema", schema: { enum: ["red", "green", 7] } },
};
const vocab = ["ab", "c", "[a", "],", "yes", "12", ".5", '"r', "true", "))"];
for (const [name, c] of Object.entries(constraints)) {
  const g = compileConstraint(c);
  const setCount = g.sets.length / 8;
  if (g.rules.length > 255 || setCount > 255 || [...g.rules].some((w) => w > 127 || w < -128)) {
    console.log(`skipped ${name}: too large for the int8 layout (${g.rules.length} words, ${setCount} sets)`);
    continue;
  }
  const parts = [Buffer.from([g.rules.length]), Buffer.from(Int8Array.from(g.rules).buffer), Buffer.from([setCount])];
  parts.push(Buffer.from(g.sets.buffer, g.sets.byteOffset, g.sets.byteLength));
  parts.push(Buffer.from([vocab.length]));
  for (const t of vocab) parts.push(Buffer.from([Buffer.byteLength(t)]), Buffer.from(t));
  parts.push(Buffer.from(name.startsWith("regex_digits") ? "12.5" : name.startsWith("gbnf_list") ? "[ab,c]" : "(x)"));
  out("grammar", `${name}.bin`, Buffer.concat(parts));
}
// gguf: small GGUF images written by @wenxin/engine's writer, with every readable tensor type (the
// K-quant blocks from real bytes of a fixture weight) and each kind of metadata value.
{
  const { writeGguf } = await import("../../packages/engine/dist/gguf/gguf_writer.js");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const weights = readTensors(sources.dense).tensors.find((t) => t.name === "model.norm.weight").bytes;
  const floats = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5);
  const raw = (name, ggmlType, elems, blockElems, blockBytes) => {
    const bytes = (elems / blockElems) * blockBytes;
    const data = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) data[i] = weights[i % weights.length];
    return { name, shape: [elems], ggmlType, bytes, data: () => data };
  };
  const metadata = {
    "general.architecture": { type: "string", value: "ernie4_5" },
    "general.alignment": { type: "u32", value: 32 },
    "ernie4_5.block_count": { type: "u32", value: 1 },
    "ernie4_5.rope.freq_base": { type: "f32", value: 500000 },
    "tokenizer.ggml.tokens": { type: "string[]", value: ["<unk>", "<s>", "a", "b"] },
    "tokenizer.ggml.scores": { type: "f32[]", value: [0, 0, -1, -2] },
    "tokenizer.ggml.token_type": { type: "i32[]", value: [2, 3, 1, 1] },
    "tokenizer.ggml.add_bos_token": { type: "bool", value: true },
  };
  const dir = mkdtempSync(path.join(tmpdir(), "wenxin-gguf-seed-"));
  const write = (name, tensors) => {
    const file = path.join(dir, name);
    writeGguf(file, metadata, tensors);
    out("gguf", name, readFileSync(file));
  };
  write("types.gguf", [
    { name: "f32", shape: [2, 16], type: "F32", values: () => floats(32) },
    { name: "f16", shape: [32], type: "F16", values: () => floats(32) },
    { name: "bf16", shape: [32], type: "BF16", values: () => floats(32) },
    { name: "q8_0", shape: [2, 32], type: "Q8_0", values: () => floats(64) },
    { name: "q4_0", shape: [64], type: "Q4_0", values: () => floats(64) },
    raw("q4_k", 12, 256, 256, 144),
    raw("q5_k", 13, 256, 256, 176),
    raw("q6_k", 14, 256, 256, 210),
  ]);
  write("metadata_only.gguf", []);
  rmSync(dir, { recursive: true, force: true });
}

console.log("seed corpora written to", corpus);
