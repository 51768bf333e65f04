import { describe, it, expect, afterAll } from "vitest";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { WenxinError } from "../../src/errors.js";
import { WenxinTokenizer } from "../../src/tokenizer/tokenizer.js";
import { convertSentencePieceBpe } from "../../src/tokenizer/sentencepiece_convert.js";
import { parseSentencePieceModel } from "../../src/tokenizer/sentencepiece_model.js";
import { wenxinErrorOf } from "../../../../test/helpers/errors.js";
import { DENSE_DIR as DENSE, MOE_DIR as MOE, loadTokenizerCases } from "../../../../test/helpers/fixtures.js";

const fixture = loadTokenizerCases();
const cases = fixture.cases;

const tmpDirs: string[] = [];
async function tmp(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "wenxin-tok-"));
  tmpDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(tmpDirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A model dir holding only tokenizer.model (+ tokenizer_config.json): forces the SentencePiece path. */
async function modelOnlyDir(): Promise<string> {
  const dir = await tmp();
  await copyFile(path.join(DENSE, "tokenizer.model"), path.join(dir, "tokenizer.model"));
  await copyFile(path.join(DENSE, "tokenizer_config.json"), path.join(dir, "tokenizer_config.json"));
  return dir;
}

function expectWenxinError(fn: () => unknown, code: string): WenxinError {
  const err = wenxinErrorOf(fn);
  expect(err.code).toBe(code);
  return err;
}

/** Loads once, on first use. */
function lazy(load: () => Promise<WenxinTokenizer>): () => Promise<WenxinTokenizer> {
  let p: Promise<WenxinTokenizer> | undefined;
  return () => (p ??= load());
}

const sources = [
  ["tokenizer.json (dense)", lazy(() => WenxinTokenizer.fromDirectory(DENSE))],
  ["tokenizer.json (moe)", lazy(() => WenxinTokenizer.fromDirectory(MOE))],
  ["tokenizer.model only", lazy(async () => WenxinTokenizer.fromDirectory(await modelOnlyDir()))],
] as const;

describe.each(sources)("WenxinTokenizer from %s", (_name, load) => {
  it.each(cases.map((c) => [JSON.stringify(c.text), c] as const))("case %s", async (_label, c) => {
    const tok = await load();
    expect(tok.encode(c.text)).toEqual(c.ids);
    expect(c.ids.map((id) => tok.idToToken(id))).toEqual(c.tokens);
    expect(tok.decode(c.ids)).toBe(c.decoded);
    expect(tok.decode(c.ids, { skipSpecialTokens: true })).toBe(c.decoded_skip_special);
    // ERNIE's post-processor adds no BOS/EOS.
    expect(tok.encode(c.text, { addSpecialTokens: true })).toEqual(c.ids);
  });

  it("exposes vocabulary size and special tokens", async () => {
    const tok = await load();
    expect(tok.vocabSize).toBe(fixture.vocab.size);
    expect(tok.specialTokens).toEqual({
      bos_token: "<s>",
      eos_token: "</s>",
      unk_token: "<unk>",
      pad_token: "<unk>",
      cls_token: "<|begin_of_sentence|>",
      sep_token: "<|end_of_sentence|>",
      mask_token: "<mask:1>",
    });
    for (const [token, id] of Object.entries(fixture.vocab.special_ids)) {
      expect(tok.tokenToId(token)).toBe(id);
      expect(tok.idToToken(id)).toBe(token);
      expect(tok.isSpecial(id)).toBe(true);
    }
    expect([...tok.allSpecialIds].sort((a, b) => a - b)).toEqual(Array.from({ length: 32 }, (_, i) => i));
    expect(tok.isSpecial(tok.tokenToId("<0x41>")!)).toBe(false);
    expect(tok.tokenToId("definitely-not-a-token")).toBeUndefined();
  });
});

describe("tokenizer.model conversion", () => {
  it("produces the same object as the shipped tokenizer.json", async () => {
    const model = parseSentencePieceModel(await readFile(path.join(DENSE, "tokenizer.model")));
    const config = JSON.parse(await readFile(path.join(DENSE, "tokenizer_config.json"), "utf8"));
    const shipped = JSON.parse(await readFile(path.join(DENSE, "tokenizer.json"), "utf8"));
    expect(model.trainerSpec.byteFallback).toBe(true);
    expect(model.normalizerSpec.addDummyPrefix).toBe(false);
    expect(convertSentencePieceBpe(model, config)).toEqual(shipped);
  });

  it("works without tokenizer_config.json (control pieces still special)", async () => {
    const dir = await tmp();
    await copyFile(path.join(DENSE, "tokenizer.model"), path.join(dir, "tokenizer.model"));
    const tok = await WenxinTokenizer.fromDirectory(dir);
    expect(tok.source).toBe("tokenizer.model");
    expect(tok.specialTokens).toMatchObject({ unk_token: "<unk>", bos_token: "<s>", eos_token: "</s>" });
    for (const c of cases.filter((c) => !c.text.includes("<"))) expect(tok.encode(c.text)).toEqual(c.ids);
    expect(tok.encode("</s><s>")).toEqual([2, 1]);
    expect(tok.decode([2, 5928, 1], { skipSpecialTokens: true })).toBe("a");
  });

  it("rejects non-BPE SentencePiece models", () => {
    // ModelProto { pieces: [{piece: "a", score: 0}], trainer_spec: { model_type: UNIGRAM } }
    const piece = [0x0a, 0x01, 0x61, 0x15, 0, 0, 0, 0];
    const bytes = Uint8Array.from([0x0a, piece.length, ...piece, 0x12, 0x02, 0x18, 0x01]);
    const model = parseSentencePieceModel(bytes);
    expect(model.pieces).toEqual([{ piece: "a", score: 0, type: 1 }]);
    const err = expectWenxinError(() => convertSentencePieceBpe(model), "ERR_WENXIN_TOKENIZER");
    expect(err.message).toMatch(/UNIGRAM/);
  });

  it("rejects truncated model files", async () => {
    const bytes = await readFile(path.join(DENSE, "tokenizer.model"));
    expectWenxinError(() => parseSentencePieceModel(bytes.subarray(0, 1001)), "ERR_WENXIN_TOKENIZER");
  });
});

describe("WenxinTokenizer errors and edge cases", () => {
  it("throws TOKEN_OUT_OF_RANGE for ids outside [0, vocabSize)", async () => {
    const tok = await WenxinTokenizer.fromDirectory(DENSE);
    for (const bad of [tok.vocabSize, -1, 1.5, Number.NaN]) {
      const err = expectWenxinError(() => tok.decode([5928, bad]), "ERR_WENXIN_TOKEN_OUT_OF_RANGE");
      expect(err.details.actual).toBe(bad);
      expectWenxinError(() => tok.idToToken(bad), "ERR_WENXIN_TOKEN_OUT_OF_RANGE");
    }
    expect(tok.decode(new Int32Array([5928, 5942]))).toBe("ab");
    expect(tok.decode([])).toBe("");
  });

  it("throws FILE_NOT_FOUND naming the directory and the files looked for", async () => {
    const dir = await tmp();
    const err = await WenxinTokenizer.fromDirectory(dir).then(
      () => undefined,
      (e: unknown) => e as WenxinError,
    );
    expect(err).toBeInstanceOf(WenxinError);
    expect(err!.code).toBe("ERR_WENXIN_FILE_NOT_FOUND");
    expect(err!.message).toContain(dir);
    expect(err!.message).toContain("tokenizer.json");
    expect(err!.message).toContain("tokenizer.model");
    // A path that is not a directory at all is reported the same way.
    const notDir = path.join(DENSE, "config.json");
    await expect(WenxinTokenizer.fromDirectory(notDir)).rejects.toMatchObject({ code: "ERR_WENXIN_FILE_NOT_FOUND" });
  });

  it("decodes invalid byte runs like transformers (one U+FFFD per byte)", async () => {
    const tok = await WenxinTokenizer.fromDirectory(DENSE);
    // <0xE9><0xBE> is the start of 龘 without its last byte.
    expect(tok.decode([265, 222])).toBe("\uFFFD\uFFFD");
    expect(tok.decode([6025, 265, 222, 6025])).toBe("H\uFFFD\uFFFDH");
    expect(tok.decode([265, 222, 184])).toBe("龘");
  });

  it("accepts the transformers 5.x config form (extra_special_tokens, no added_tokens_decoder)", async () => {
    const dir = await tmp();
    const json = JSON.parse(await readFile(path.join(DENSE, "tokenizer.json"), "utf8"));
    // Keep only <unk>, <s>, </s> as added tokens; the rest must come from the config.
    json.added_tokens = json.added_tokens.slice(0, 3);
    await writeFile(path.join(dir, "tokenizer.json"), JSON.stringify(json));
    const config = JSON.parse(await readFile(path.join(DENSE, "tokenizer_config.json"), "utf8"));
    delete config.added_tokens_decoder;
    delete config.additional_special_tokens;
    config.extra_special_tokens = ["<think>", "</think>", "<|new_token|>"];
    await writeFile(path.join(dir, "tokenizer_config.json"), JSON.stringify(config));

    const tok = await WenxinTokenizer.fromDirectory(dir);
    expect(tok.vocabSize).toBe(8001);
    expect(tok.tokenToId("<|new_token|>")).toBe(8000);
    expect(tok.encode("a<think>b</think>c")).toEqual([5928, 15, 5942, 16, 5932]);
    expect(tok.encode("x<|new_token|>")).toEqual([tok.encode("x")[0], 8000]);
    expect(tok.encode("<|begin_of_sentence|>")).toEqual([3]); // cls_token from the config
    for (const id of [3, 4, 6, 15, 16, 8000]) expect(tok.isSpecial(id)).toBe(true);
    expect(tok.decode([5928, 15, 8000], { skipSpecialTokens: true })).toBe("a");
    expect(tok.decode([5928, 8000])).toBe("a<|new_token|>");
  });
});
