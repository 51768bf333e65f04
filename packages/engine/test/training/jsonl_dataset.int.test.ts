// Training data from JSONL: the three row shapes, the truncation rule, and a bad line named.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine, loadJsonlDataset, type LoraTrainer } from "../../src/index.js";
import { DENSE_DIR, loadFinetuneCase } from "../../../../test/helpers/fixtures.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-jsonl-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const golden = loadFinetuneCase("dense-qv").json;

function file(lines: unknown[]): string {
  const f = path.join(tmp, `data-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(f, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n"));
  return f;
}

describe("loadJsonlDataset", () => {
  let engine: Engine;
  let trainer: LoraTrainer;
  beforeAll(async () => {
    engine = await Engine.load(DENSE_DIR, { threads: 1 });
    trainer = await engine.createTrainer();
  });
  afterAll(() => engine?.close());

  it("reads messages, prompt/completion and text rows (blank lines skipped)", async () => {
    const eos = engine.config.eosTokenIds[0]!;
    const rows = [
      { messages: golden.examples[0]!.messages },
      "",
      { prompt: "1+1=", completion: "2" },
      { text: "文心" },
    ];
    const data = await loadJsonlDataset(file(rows), (r) => trainer.encode(r, 512));
    expect(data.stats).toMatchObject({ rows: 3, examples: 3, truncated: 0, dropped: 0 });
    expect(data.examples[0]).toEqual({ inputIds: golden.examples[0]!.input_ids, labels: golden.examples[0]!.labels });
    const prompt = engine.tokenizer.encode("1+1="),
      completion = [...engine.tokenizer.encode("2"), eos];
    expect(data.examples[1]).toEqual({
      inputIds: [...prompt, ...completion],
      labels: [...prompt.map(() => -100), ...completion],
    });
    const text = [...engine.tokenizer.encode("文心"), eos];
    expect(data.examples[2]).toEqual({ inputIds: text, labels: text });
  });

  it("keeps the first max-length tokens, and drops a row with nothing left to learn", async () => {
    // The golden's first conversation has 38 tokens, its labels from position 20 on.
    const conv = { messages: golden.examples[0]!.messages };
    const cut = await loadJsonlDataset(file([conv, { text: "abc" }]), (r) => trainer.encode(r, 21));
    expect(cut.stats).toMatchObject({ rows: 2, examples: 2, truncated: 1, dropped: 0 });
    expect(cut.examples[0]!.inputIds).toEqual(golden.examples[0]!.input_ids.slice(0, 21));
    const dropped = await loadJsonlDataset(file([conv, { text: "abc" }]), (r) => trainer.encode(r, 20));
    expect(dropped.stats).toMatchObject({ rows: 2, examples: 1, truncated: 0, dropped: 1 });
    await expect(loadJsonlDataset(file([conv]), (r) => trainer.encode(r, 10))).rejects.toThrow(/no example to learn/);
  });

  it.each([
    ['{"messages": [', /:2: not valid JSON/],
    ['["a"]', /:2: a row must be a JSON object/],
    ['{"question": "q"}', /:2: expected \{"messages"/],
    ['{"prompt": "p"}', /:2: 'completion'/],
    ['{"messages": [{"role": "robot", "content": "x"}]}', /:2: 'messages\.0\.role'/],
    ['{"messages": [{"role": "user", "content": "x"}]}', /:2: the last message is 'user'/],
  ])("names the line of a bad row: %s", async (bad, message) => {
    const f = file([{ text: "ok" }, bad]);
    await expect(loadJsonlDataset(f, (r) => trainer.encode(r, 512))).rejects.toMatchObject({
      code: "ERR_WENXIN_INVALID_FILE",
      message: expect.stringMatching(message),
      details: { subject: `${f}:2` },
    });
  });

  it("a missing file is ERR_WENXIN_FILE_NOT_FOUND", async () => {
    await expect(loadJsonlDataset(path.join(tmp, "none.jsonl"), () => undefined)).rejects.toMatchObject({
      code: "ERR_WENXIN_FILE_NOT_FOUND",
    });
  });
});
