// Issue 19.3: the text-generation, chat and feature-extraction snippets of transformers.js' own docs
// (docs/*.js, each a verbatim copy naming its source), run as written with only the import changed
// to @wenxin/transformers. The hub ids they name resolve, as transformers.js resolves local models,
// under env.localModelPath, where each is the tiny ERNIE fixture; env.allowRemoteModels = false, so
// nothing is fetched. A snippet runs as the body of an async function with its import turned into a
// destructuring of this package, and hands back the variables it declared for the assertions.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import * as transformers from "../../src/index.js";
import { env, Tensor } from "../../src/index.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

const DOCS = path.join(path.dirname(fileURLToPath(import.meta.url)), "docs");
const MODEL_IDS = [
  "onnx-community/SmolLM2-135M-ONNX",
  "onnx-community/Qwen3-0.6B-ONNX",
  "onnx-community/Qwen2.5-Coder-0.5B-Instruct",
  "onnx-community/all-MiniLM-L6-v2-ONNX",
  "onnx-community/ERNIE-4.5-0.3B-ONNX",
];
const IMPORT = /^import \{([^}]*)\} from ["']@wenxin\/transformers["'];$/m;

interface Run {
  vars: Record<string, unknown>;
  logged: unknown[][];
  stdout: string;
}

type AsyncFn = (lib: typeof transformers) => Promise<Record<string, unknown>>;
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (arg: string, body: string) => AsyncFn;

/** Runs docs/`file`, returning the values of `names` after it ran, what it logged and what it wrote to stdout. */
async function runSnippet(file: string, names: string[]): Promise<Run> {
  const source = readFileSync(path.join(DOCS, file), "utf8");
  expect(source).toMatch(IMPORT);
  const body = source.replace(IMPORT, (_, list: string) => `const {${list}} = __lib;`);
  const logged: unknown[][] = [];
  let stdout = "";
  const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void logged.push(args));
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  try {
    const fn = new AsyncFunction("__lib", `${body}\nreturn { ${names.join(", ")} };`);
    return { vars: await fn(transformers), logged, stdout };
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
}

let models: string;
const saved = { ...env };
beforeAll(() => {
  models = mkdtempSync(path.join(os.tmpdir(), "wenxin-docs-"));
  for (const id of MODEL_IDS) {
    mkdirSync(path.join(models, path.dirname(id)), { recursive: true });
    symlinkSync(DENSE_DIR, path.join(models, id));
  }
  env.localModelPath = models;
  env.allowRemoteModels = false;
});
afterAll(() => {
  Object.assign(env, saved);
  rmSync(models, { recursive: true, force: true });
});

type Message = { role: string; content: string };

describe("transformers.js' docs, run verbatim", () => {
  it("text-generation: a prompt in, [{ generated_text }] with the prompt and 8 new tokens out", async () => {
    const { vars } = await runSnippet("text_generation.js", ["generator", "text", "output"]);
    try {
      const output = vars.output as { generated_text: string }[];
      expect(output).toHaveLength(1);
      expect(output[0]!.generated_text.startsWith(vars.text as string)).toBe(true);
      expect(output[0]!.generated_text.length).toBeGreaterThan((vars.text as string).length);
    } finally {
      await (vars.generator as transformers.TextGenerationPipeline).dispose();
    }
  });

  for (const [file, result] of [
    ["text_generation_chat.js", "output"],
    ["streaming.js", "result"],
    ["ernie_model_card.js", "output"],
  ] as const)
    it(`${file}: chat messages in, the conversation with the reply out; the TextStreamer prints the reply`, async () => {
      const { vars, logged, stdout } = await runSnippet(file, ["generator", "messages", result]);
      try {
        const conversation = (vars[result] as { generated_text: Message[] }[])[0]!.generated_text;
        expect(conversation.slice(0, -1)).toEqual(vars.messages);
        const reply = conversation.at(-1)!;
        expect(reply.role).toBe("assistant");
        expect(reply.content.length).toBeGreaterThan(0);
        // TextStreamer's default: the reply on stdout as it is generated, then a line break.
        expect(stdout).toBe(`${reply.content}\n`);
        if (file !== "streaming.js") expect(logged).toEqual([[reply.content]]);
      } finally {
        await (vars.generator as transformers.TextGenerationPipeline).dispose();
      }
    });

  it("feature-extraction: a float32 Tensor [1, tokens, hidden] of the hidden states; tolist() logged", async () => {
    const { vars, logged } = await runSnippet("feature_extraction.js", ["extractor", "output"]);
    try {
      const output = vars.output as Tensor;
      expect(output).toBeInstanceOf(Tensor);
      expect(output.type).toBe("float32");
      expect(output.dims).toEqual([1, output.dims[1], 128]);
      expect(output.dims[1]).toBeGreaterThan(1);
      expect(logged).toEqual([[output.tolist()]]);
      expect((logged[0]![0] as number[][][])[0]![0]).toHaveLength(128);
    } finally {
      await (vars.extractor as transformers.FeatureExtractionPipeline).dispose();
    }
  });

  it("feature-extraction with mean pooling and normalization: [1, hidden] of unit length", async () => {
    const { vars, logged } = await runSnippet("feature_extraction_pooled.js", ["extractor", "output"]);
    try {
      const output = vars.output as Tensor;
      expect(output.dims).toEqual([1, 128]);
      const [embedding] = logged[0]![0] as number[][];
      expect(embedding).toHaveLength(128);
      expect(Math.hypot(...embedding!)).toBeCloseTo(1, 5);
      // The same vector as the unpooled hidden states, averaged and normalized with the Tensor API.
      const states = (await (vars.extractor as transformers.FeatureExtractionPipeline)(
        "This is a simple test.",
      )) as Tensor;
      const pooled = states.mean(1).normalize(2, -1);
      expect(Array.from(pooled.data as Float32Array).every((v, i) => Math.abs(v - Number(output.data[i])) < 1e-5)).toBe(
        true,
      );
    } finally {
      await (vars.extractor as transformers.FeatureExtractionPipeline).dispose();
    }
  });
});
