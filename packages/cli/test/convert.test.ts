// `wenxin convert DIR --to gguf` writes llama.cpp's layout (no native engine needed), and
// `wenxin inspect FILE.gguf` reads it back: the same parameters and expert split as the checkpoint.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { readGgufFile } from "@wenxin/engine/internal";
import { afterAll, describe, expect, it, vi } from "vitest";

import { convertCommand } from "../src/commands/convert.js";
import { summarizeCheckpoint } from "../src/commands/inspect.js";
import { DENSE_DIR, MOE_DIR } from "../../../test/helpers/fixtures.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-cli-convert-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [],
    err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
  try {
    return { code: await convertCommand.run(argv), out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe("wenxin convert --to gguf", () => {
  it("prints its usage with --help", async () => {
    const { code, out } = await cli(["--help"]);
    expect(code).toBe(0);
    expect(out).toContain("--type T");
    expect(out).toContain("q4_0");
  });

  it("refuses a missing --out, another format and an unknown type", async () => {
    expect((await cli([DENSE_DIR, "--to", "gguf"])).code).toBe(1);
    expect((await cli([DENSE_DIR, "--to", "onnx", "--out", "x"])).err).toContain("--to must be gguf");
    expect((await cli([DENSE_DIR, "--to", "gguf", "--out", "x", "--type", "q2_k"])).err).toContain("--type must be");
  });

  it.each([
    ["f32", "F32"],
    ["q8_0", "Q8_0"],
    ["q4_0", "Q4_0"],
  ])("writes --type %s matrices as %s (norms in F32)", async (type, ggml) => {
    const out = path.join(tmp, `dense-${type}.gguf`);
    const { code } = await cli([DENSE_DIR, "--to", "gguf", "--type", type, "--out", out]);
    expect(code).toBe(0);
    const info = readGgufFile(out);
    const typeOf = (name: string) => info.tensors.find((t) => t.name === name)!.typeName;
    expect(typeOf("blk.0.attn_q.weight")).toBe(ggml);
    expect(typeOf("blk.3.ffn_down.weight")).toBe(ggml);
    expect(typeOf("blk.0.attn_norm.weight")).toBe("F32");
    expect(typeOf("token_embd.weight")).toBe(type === "q4_0" ? "Q8_0" : ggml);
    expect(info.metadata.get("general.name")).toBe("tiny-ernie45-dense");
    expect(info.metadata.get("tokenizer.ggml.model")).toBe("llama");
    expect((info.metadata.get("tokenizer.ggml.tokens") as string[]).length).toBe(8000);
    expect(typeof info.metadata.get("tokenizer.chat_template")).toBe("string");
  });

  it("wenxin inspect reads the GGUF of the MoE model like its checkpoint", async () => {
    const out = path.join(tmp, "moe-f16.gguf");
    expect((await cli([MOE_DIR, "--to", "gguf", "--out", out])).code).toBe(0);
    const [fromGguf, fromDir] = await Promise.all([summarizeCheckpoint(out), summarizeCheckpoint(MOE_DIR)]);
    expect(fromGguf.modelType).toBe("ernie4_5_moe");
    expect(fromGguf.parameters).toBe(fromDir.parameters);
    expect(fromGguf.activeParameters).toBe(fromDir.activeParameters);
    expect(Object.keys(fromGguf.dtypes).sort()).toEqual(["F16", "F32"]);
  });
});
