// AutoModelForCausalLM.from_pretrained("org/name") end to end against the mocked hub: download into
// the shared cache, load, and reproduce the goldens; then again offline from the cache alone.
import { expect, it } from "vitest";

import { AutoModelForCausalLM, PeftModel, pipeline, type ProgressInfo } from "../../src/index.js";
import { DENSE_DIR, LORA_DIR, MOE_DIR, loadGolden, maxAbsDiff } from "../../../../test/helpers/fixtures.js";
import { CDN, repoFromDirectory, useMockHub } from "./mock_hub.js";

const LOAD = { engine_options: { threads: 2, maxContext: 512 } };

const ctx = useMockHub((hub) => {
  hub.add(repoFromDirectory("baidu/tiny-ernie45-dense", DENSE_DIR));
  hub.add(repoFromDirectory("baidu/tiny-ernie45-moe", MOE_DIR));
  hub.add(repoFromDirectory("someone/tiny-ernie45-dense-lora", LORA_DIR));
});

it.each(["tiny-ernie45-dense", "tiny-ernie45-moe"] as const)(
  "downloads baidu/%s and reproduces its golden logits, then loads it offline",
  async (name) => {
    const events: ProgressInfo[] = [];
    const model = await AutoModelForCausalLM.from_pretrained(`baidu/${name}`, {
      ...LOAD,
      progress_callback: (e) => events.push(e),
    });
    const golden = loadGolden(name);
    const ids = golden.json.prompts.chat!.input_ids;
    try {
      expect(maxAbsDiff((await model(ids)).logits.data, golden.tensors.get("chat.logits")!.data)).toBeLessThan(1e-3);
      expect(model.name_or_path).toBe(`baidu/${name}`);
    } finally {
      await model.dispose();
    }
    expect(events.filter((e) => e.status === "done").length).toBeGreaterThanOrEqual(4);
    expect(ctx.hub.requestsTo(CDN).length).toBeGreaterThan(0);

    ctx.hub.requests.length = 0;
    process.env.HF_HUB_OFFLINE = "1";
    const again = await AutoModelForCausalLM.from_pretrained(`baidu/${name}`, LOAD);
    try {
      expect(maxAbsDiff((await again(ids)).logits.data, golden.tensors.get("chat.logits")!.data)).toBeLessThan(1e-3);
    } finally {
      await again.dispose();
    }
    expect(ctx.hub.requests).toEqual([]);
  },
);

it("pipeline() loads its model from the hub and reports ready", async () => {
  const events: ProgressInfo[] = [];
  const generator = await pipeline("text-generation", "baidu/tiny-ernie45-dense", {
    ...LOAD,
    progress_callback: (e) => events.push(e),
  });
  try {
    const [out] = await generator("Hello", { max_new_tokens: 3, do_sample: false });
    expect(out!.generated_text.startsWith("Hello")).toBe(true);
  } finally {
    await generator.dispose();
  }
  expect(events.at(-1)).toEqual({ status: "ready", task: "text-generation", model: "baidu/tiny-ernie45-dense" });
});

it("resolves a LoRA adapter repository for PeftModel (reaching the engine's adapter support)", async () => {
  const model = await AutoModelForCausalLM.from_pretrained("baidu/tiny-ernie45-dense", LOAD);
  try {
    // The adapter files are fetched and validated before the engine is asked to load them.
    await PeftModel.from_pretrained(model, "someone/tiny-ernie45-dense-lora").catch((err: unknown) => {
      expect(String(err)).toMatch(/engine\.loadAdapter is missing/);
    });
    const fetched = ctx.hub.requests.map((r) => new URL(r.url).pathname).filter((p) => p.startsWith("/someone/"));
    expect(new Set(fetched.map((p) => p.split("/").pop()))).toEqual(
      new Set(["adapter_config.json", "adapter_model.safetensors"]),
    );
  } finally {
    await model.dispose();
  }
});
