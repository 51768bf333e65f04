// `wenxin inspect` reads only safetensors headers and config.json (no native engine needed).
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { describe, expect, it } from "vitest";

import { formatSummary, summarizeCheckpoint } from "../src/commands/inspect.js";
import { DENSE_DIR, MOE_DIR } from "../../../test/helpers/fixtures.js";

const run = promisify(execFile);
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/index.js");

/** Parameters of an ERNIE 4.5 dense model, counted from config.json alone. */
function denseParameters(h: {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
}): number {
  const attention = h.hidden * h.heads * h.headDim * 2 + h.hidden * h.kvHeads * h.headDim * 2;
  const mlp = 3 * h.hidden * h.ffn;
  return h.vocab * h.hidden + h.layers * (attention + mlp + 2 * h.hidden) + h.hidden;
}

describe("wenxin inspect", () => {
  it("counts the dense model's parameters as its config implies, and estimates memory", async () => {
    const s = await summarizeCheckpoint(DENSE_DIR);
    const expected = denseParameters({
      vocab: 8000,
      hidden: 128,
      layers: 4,
      heads: 8,
      kvHeads: 2,
      headDim: 32,
      ffn: 384,
    });
    expect(s.parameters).toBe(expected);
    expect(s.activeParameters).toBe(expected);
    expect(s.architecture).toBe("Ernie4_5ForCausalLM");
    expect(s.dtypes).toEqual({ BF16: { tensors: 38, parameters: expected, bytes: expected * 2 } });
    // K and V, float32, 4 layers × 2 kv heads × head_dim 32 per token; the engine's default budget.
    expect(s.memory.kvBytesPerToken).toBe(2 * 4 * 2 * 32 * 4);
    expect(s.memory.kvCacheTokens).toBe(4 * 4096);
    expect(s.memory.totalBytes).toBe(expected * 2 + 2 * 4 * 2 * 32 * 4 * 4 * 4096);
  });

  it("reports MoE experts, active parameters and the mtp tensors the engine skips", async () => {
    const s = await summarizeCheckpoint(MOE_DIR, { maxContext: 1024, listTensors: true });
    expect(s.files).toHaveLength(2);
    const experts = s
      .tensorList!.filter((t) => /\.experts\.\d+\./.test(t.name))
      .reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    // 3 MoE layers × 8 experts × (gate, up, down) of 96 × 128.
    expect(experts).toBe(3 * 8 * 3 * 96 * 128);
    expect(s.activeParameters).toBe(s.parameters - experts + (experts * 3) / 8);
    expect(s.skipped).toEqual({ tensors: 2, parameters: 128 + 128 * 256 });
    expect(s.dtypes.F32!.tensors).toBe(6);
    expect(s.memory.kvCacheTokens).toBe(4096);
    const text = formatSummary(s);
    expect(text).toMatch(/experts\s+8 routed \(top-3, ffn 96\) \+ 2 shared, layers 1-3/);
    expect(text).toMatch(/model\.layers\.1\.mlp\.experts\.0\.down_proj\.weight\s+BF16\s+\[128, 96\]/);
  });

  it("reads a single safetensors file, and prints JSON for machines", async () => {
    const { stdout } = await run("node", [CLI, "inspect", path.join(DENSE_DIR, "model.safetensors"), "--json"]);
    const s = JSON.parse(stdout);
    expect(s.parameters).toBe(
      denseParameters({ vocab: 8000, hidden: 128, layers: 4, heads: 8, kvHeads: 2, headDim: 32, ffn: 384 }),
    );
    expect(s.architecture).toBeUndefined();
    expect(s.memory).toEqual({ weightBytes: s.parameters * 2, totalBytes: s.parameters * 2 });
  });

  it("fails clearly on what is not a checkpoint", async () => {
    await expect(run("node", [CLI, "inspect", path.join(DENSE_DIR, "config.json")])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("ERR_WENXIN_INVALID_FILE"),
    });
    await expect(run("node", [CLI, "inspect"])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("Usage: wenxin inspect"),
    });
  });
});
