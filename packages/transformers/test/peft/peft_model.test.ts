// PeftModel's side of the adapter contract, against a stand-in engine that records what it is
// asked (the native engine's adapter support is tested in peft_engine.int.test.ts): which
// adapter description loadAdapter receives, and which adapter each request names.
import type { Engine, LoraAdapterSpec } from "@wenxin/engine";
import { beforeEach, describe, expect, it } from "vitest";

import {
  AutoConfig,
  BASE_ADAPTER,
  Ernie4_5ForCausalLM,
  GenerationConfig,
  PeftModel,
  Tensor,
  loadLoraAdapter,
} from "../../src/index.js";
import { DENSE_DIR, LORA_DIR } from "../../../../test/helpers/fixtures.js";

type Call = { kind: "generate" | "logits"; ids: number[]; adapter: string | undefined };

/** Answers generate with one token that tells which adapter ran: 100 + index of the adapter, 1 for none. */
class RecordingEngine {
  readonly calls: Call[] = [];
  readonly loaded = new Map<string, LoraAdapterSpec>();
  readonly dir = DENSE_DIR;
  readonly maxContext = 512;
  readonly config = { hparams: { vocabSize: 8000 } };
  failNextLoad = false;

  async loadAdapter(name: string, adapter: LoraAdapterSpec): Promise<void> {
    if (this.failNextLoad) {
      this.failNextLoad = false;
      throw new Error("native load failed");
    }
    this.loaded.set(name, adapter);
  }

  async unloadAdapter(name: string): Promise<void> {
    this.loaded.delete(name);
  }

  private marker(adapter: string | undefined): number {
    return adapter === undefined ? 1 : 100 + [...this.loaded.keys()].indexOf(adapter);
  }

  generate(opts: { inputIds: number[]; adapter?: string }) {
    this.calls.push({ kind: "generate", ids: [...opts.inputIds], adapter: opts.adapter });
    const id = this.marker(opts.adapter);
    return (async function* () {
      yield { type: "token", tokenIds: [id], text: "" };
      yield {
        type: "done",
        tokenIds: [id],
        text: "",
        finishReason: "length",
        promptTokens: opts.inputIds.length,
        completionTokens: 1,
      };
    })();
  }

  async logits(ids: number[], opts?: { adapter?: string }): Promise<Float32Array> {
    this.calls.push({ kind: "logits", ids: [...ids], adapter: opts?.adapter });
    return new Float32Array(ids.length * 8000).fill(this.marker(opts?.adapter));
  }

  async close(): Promise<void> {}
}

let engine: RecordingEngine;
let model: Ernie4_5ForCausalLM;

beforeEach(async () => {
  engine = new RecordingEngine();
  model = new Ernie4_5ForCausalLM({
    engine: engine as unknown as Engine,
    config: await AutoConfig.from_pretrained(DENSE_DIR),
    generation_config: new GenerationConfig({ max_new_tokens: 1 }),
    name_or_path: "recording",
  });
});

describe("PeftModel", () => {
  it("hands the engine the validated adapter description under the adapter's name", async () => {
    const peft = await PeftModel.from_pretrained(model, LORA_DIR);
    expect(peft.active_adapter).toBe("default");
    expect(engine.loaded.get("default")).toEqual({
      config: { modules: (await loadLoraAdapter(LORA_DIR, model.config.engineConfig)).modules },
    });
    expect(peft.peft_config.default).toMatchObject({ r: 8, lora_alpha: 16 });
  });

  it("names the active adapter in every request, and the one set_adapter picks", async () => {
    const peft = await PeftModel.from_pretrained(model, LORA_DIR, { adapter_name: "a" });
    await peft.load_adapter(LORA_DIR, "b");
    const first = await peft.generate([5, 6]);
    expect(first).toBeInstanceOf(Tensor);
    expect(first.tolist()).toEqual([[5n, 6n, 100n]]);
    peft.set_adapter("b");
    expect((await peft.generate([5, 6])).tolist()).toEqual([[5n, 6n, 101n]]);
    expect(engine.calls.map((c) => c.adapter)).toEqual(["a", "b"]);
  });

  it("routes each row of a batch to its adapter_names entry, __base__ meaning none", async () => {
    const peft = await PeftModel.from_pretrained(model, LORA_DIR, { adapter_name: "a" });
    await peft.load_adapter(LORA_DIR, "b");
    const out = await peft.generate([[1], [2], [3], [4]], { adapter_names: ["b", BASE_ADAPTER, "a", "b"] });
    expect(out.dims).toEqual([4, 2]);
    expect(out.toRows()).toEqual([
      [1, 101],
      [2, 1],
      [3, 100],
      [4, 101],
    ]);
    const { sequences } = await peft.generate([[1]], { adapter_names: ["a"], return_dict_in_generate: true });
    expect(sequences.tolist()).toEqual([[1n, 100n]]);
    const logits = await peft.forward([[7], [8]], { adapter_names: ["a", BASE_ADAPTER] });
    expect([logits.logits.data[0], logits.logits.data[8000]]).toEqual([100, 1]);
    expect(engine.calls.filter((c) => c.kind === "logits").map((c) => c.adapter)).toEqual(["a", undefined]);
  });

  it("the base model's own requests name no adapter", async () => {
    await PeftModel.from_pretrained(model, LORA_DIR);
    await model.generate([9]);
    expect(engine.calls.at(-1)!.adapter).toBeUndefined();
  });

  it("rejects clashing, unknown and mismatched adapter names", async () => {
    const peft = await PeftModel.from_pretrained(model, LORA_DIR);
    await expect(PeftModel.from_pretrained(model, LORA_DIR)).rejects.toThrow(/'default' is already loaded/);
    expect(() => peft.set_adapter("nope")).toThrow(/no adapter named 'nope' \(loaded: default\)/);
    await expect(peft.generate([[1], [2]], { adapter_names: ["default"] })).rejects.toThrow(
      /adapter_names has 1 entries for 2 input rows/,
    );
    await expect(peft.load_adapter(LORA_DIR, BASE_ADAPTER)).rejects.toMatchObject({
      code: "ERR_WENXIN_INVALID_ARGUMENT",
    });
  });

  it("frees the name when the engine fails to load the adapter", async () => {
    engine.failNextLoad = true;
    await expect(PeftModel.from_pretrained(model, LORA_DIR)).rejects.toThrow(/native load failed/);
    expect((await PeftModel.from_pretrained(model, LORA_DIR)).active_adapter).toBe("default");
  });

  it("delete_adapter unloads it from the engine", async () => {
    const peft = await PeftModel.from_pretrained(model, LORA_DIR, { adapter_name: "a" });
    await peft.load_adapter(LORA_DIR, "b");
    await peft.delete_adapter("a");
    expect([...engine.loaded.keys()]).toEqual(["b"]);
    expect(peft.active_adapter).toBe("b");
    expect(Object.keys(peft.peft_config)).toEqual(["b"]);
  });
});
