// Models loaded with from_pretrained against the goldens and against the engine's own generate().
import { Engine } from "@wenxin/engine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  AutoModelForCausalLM,
  AutoTokenizer,
  Ernie4_5ForCausalLM,
  Ernie4_5_MoeForCausalLM,
  TextIteratorStreamer,
  TextStreamer,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from "../../src/index.js";
import { DENSE_DIR, MOE_DIR, loadGolden, maxAbsDiff } from "../../../../test/helpers/fixtures.js";

const LOAD = { engine_options: { threads: 2, maxContext: 1024 } };

async function engineIds(engine: Engine, options: Parameters<Engine["generate"]>[0]): Promise<number[]> {
  return (await engine.generate(options).result()).tokenIds;
}

describe.each([
  ["tiny-ernie45-dense", DENSE_DIR, Ernie4_5ForCausalLM],
  ["tiny-ernie45-moe", MOE_DIR, Ernie4_5_MoeForCausalLM],
] as const)("%s", (name, dir, Cls) => {
  let model: PreTrainedModel;
  let engine: Engine;
  const golden = loadGolden(name);
  const plain = golden.json.prompts.plain!.input_ids;

  beforeAll(async () => {
    model = await AutoModelForCausalLM.from_pretrained(dir, LOAD);
    engine = await Engine.load(dir, { threads: 2, maxContext: 1024 });
  });
  afterAll(async () => {
    await model?.dispose();
    await engine?.close();
  });

  it("AutoModelForCausalLM picks the class of the checkpoint", () => {
    expect(model).toBeInstanceOf(Cls);
    expect(model.config.model_type).toBe(Cls.model_type);
  });

  it.each(["plain", "chat"])("model(ids).logits match the %s golden within 1e-3", async (prompt) => {
    const ids = golden.json.prompts[prompt]!.input_ids;
    const { logits } = await model(ids);
    expect(logits.dims).toEqual([1, ids.length, 8000]);
    expect(maxAbsDiff(logits.data, golden.tensors.get(`${prompt}.logits`)!.data)).toBeLessThan(1e-3);
  });

  it("sampled generate() equals the engine's generate() for the same options", async () => {
    const options = {
      max_new_tokens: 24,
      do_sample: true,
      temperature: 0.7,
      top_k: 40,
      top_p: 0.9,
      min_p: 0.02,
      repetition_penalty: 1.1,
      seed: 1234,
    };
    const [out] = await model.generate_ids(plain, options);
    const expected = await engineIds(engine, {
      inputIds: plain,
      maxNewTokens: 24,
      doSample: true,
      temperature: 0.7,
      topK: 40,
      topP: 0.9,
      minP: 0.02,
      repetitionPenalty: 1.1,
      seed: 1234,
    });
    expect(out).toEqual([...plain, ...expected]);
  });

  it("unset options come from generation_config.json with transformers' defaults (top_k 50)", async () => {
    const [out] = await model.generate_ids(plain, { max_new_tokens: 16, seed: 7 });
    const expected = await engineIds(engine, {
      inputIds: plain,
      maxNewTokens: 16,
      seed: 7,
      doSample: true,
      temperature: 0.8,
      topP: 0.8,
      topK: 50,
      minP: 0,
      repetitionPenalty: 1,
    });
    expect(out!.slice(plain.length)).toEqual(expected);
  });

  it("greedy generate() equals the engine's greedy run, and a changed generation_config is used", async () => {
    const expected = await engineIds(engine, { inputIds: plain, maxNewTokens: 12, temperature: 0 });
    expect((await model.generate_ids(plain, { max_new_tokens: 12, do_sample: false }))[0]!.slice(plain.length)).toEqual(
      expected,
    );
    const saved = model.generation_config.do_sample;
    model.generation_config.do_sample = false;
    try {
      expect((await model.generate_ids(plain, { max_new_tokens: 12 }))[0]!.slice(plain.length)).toEqual(expected);
    } finally {
      model.generation_config.do_sample = saved;
    }
  });
});

describe("generate() on the dense model", () => {
  let model: PreTrainedModel;
  let tokenizer: PreTrainedTokenizer;
  const golden = loadGolden("tiny-ernie45-dense");
  const { plain, chat } = golden.json.prompts as Record<string, { input_ids: number[]; greedy_new_ids: number[] }>;

  beforeAll(async () => {
    model = await Ernie4_5ForCausalLM.from_pretrained(DENSE_DIR, LOAD);
    tokenizer = await AutoTokenizer.from_pretrained(DENSE_DIR);
  });
  afterAll(() => model?.dispose());

  it("greedy continuations reproduce transformers' (golden) ids", async () => {
    const out = await model.generate_ids([plain!.input_ids, chat!.input_ids], { max_new_tokens: 32, do_sample: false });
    expect(out[0]).toEqual([...plain!.input_ids, ...plain!.greedy_new_ids]);
    expect(out[1]).toEqual([...chat!.input_ids, ...chat!.greedy_new_ids]);
  });

  it("runs tokenizer output with padding as the unpadded rows", async () => {
    const batch = tokenizer(["Hello world", "ERNIE 4.5 is a mixture-of-experts model."], {
      padding: true,
      padding_side: "left",
    });
    const out = await model.generate_ids(batch, { max_new_tokens: 6, do_sample: false });
    const single = await model.generate_ids(tokenizer("Hello world"), { max_new_tokens: 6, do_sample: false });
    expect(out[0]).toEqual(single[0]);
    const second = batch.input_ids.toRows()[1]!;
    expect(out[1]!.slice(0, second.length)).toEqual(second);
  });

  it("accepts transformers.js' single-object form", async () => {
    const a = await model.generate_ids({ input_ids: plain!.input_ids, max_new_tokens: 5, do_sample: false });
    expect(a[0]).toEqual([...plain!.input_ids, ...plain!.greedy_new_ids.slice(0, 5)]);
  });

  it("generate() returns an int64 Tensor [batch, length]; shorter rows padded; { sequences } on request", async () => {
    const out = await model.generate([plain!.input_ids, chat!.input_ids], { max_new_tokens: 32, do_sample: false });
    const rows = [
      [...plain!.input_ids, ...plain!.greedy_new_ids],
      [...chat!.input_ids, ...chat!.greedy_new_ids],
    ];
    const width = Math.max(...rows.map((r) => r.length));
    expect(out.type).toBe("int64");
    expect(out.dims).toEqual([2, width]);
    expect(out.data).toBeInstanceOf(BigInt64Array);
    const pad = model.config.pad_token_id!;
    expect(out.tolist()).toEqual(rows.map((r) => [...r, ...new Array(width - r.length).fill(pad)].map(BigInt)));
    const { sequences } = await model.generate({
      ...tokenizer("Hello world"),
      max_new_tokens: 4,
      do_sample: false,
      return_dict_in_generate: true,
    });
    expect(sequences.dims[0]).toBe(1);
    expect(tokenizer.batch_decode(sequences)[0]!.startsWith("Hello world")).toBe(true);
  });

  it("names an option it cannot honour instead of dumping a schema", async () => {
    await expect(model.generate(plain!.input_ids, { num_beams: 4 })).rejects.toThrow(
      /'num_beams' beam search is not supported/,
    );
    await expect(model.generate(plain!.input_ids, { no_such_option: 1 } as never)).rejects.toThrow(
      /unknown option\(s\) 'no_such_option'/,
    );
  });

  it("eos_token_id ends generation at that id", async () => {
    const stopAt = plain!.greedy_new_ids[4]!;
    const first = plain!.greedy_new_ids.indexOf(stopAt);
    const [out] = await model.generate_ids(plain!.input_ids, {
      max_new_tokens: 32,
      do_sample: false,
      eos_token_id: stopAt,
    });
    expect(out).toEqual([...plain!.input_ids, ...plain!.greedy_new_ids.slice(0, first + 1)]);
  });

  it("TextStreamer hands out the new text piece by piece", async () => {
    const pieces: string[] = [];
    const ids: number[][] = [];
    const streamer = new TextStreamer(tokenizer, {
      skip_prompt: true,
      skip_special_tokens: true,
      callback_function: (t) => pieces.push(t),
      token_callback_function: (t) => ids.push(t.map(Number)),
    });
    const [out] = await model.generate_ids(chat!.input_ids, { max_new_tokens: 32, do_sample: false, streamer });
    const fresh = out!.slice(chat!.input_ids.length);
    expect(pieces.join("")).toBe(tokenizer.decode(fresh, { skip_special_tokens: true }));
    expect(pieces.length).toBeGreaterThan(1);
    expect(ids.flat()).toEqual(fresh);
  });

  it("TextIteratorStreamer is an async iterable of the text, prompt included unless skipped", async () => {
    const streamer = new TextIteratorStreamer(tokenizer);
    const generation = model.generate_ids(plain!.input_ids, { max_new_tokens: 10, do_sample: false, streamer });
    let text = "";
    for await (const piece of streamer) text += piece;
    const [out] = await generation;
    expect(text).toBe(tokenizer.decode(out!));
  });

  it("an aborted signal rejects, and the streamer's iteration too", async () => {
    const controller = new AbortController();
    const streamer = new TextIteratorStreamer(tokenizer, { skip_prompt: true });
    const generation = model.generate_ids(plain!.input_ids, {
      max_new_tokens: 200,
      do_sample: false,
      streamer,
      signal: controller.signal,
    });
    const iteration = (async () => {
      for await (const _ of streamer) controller.abort();
    })();
    await expect(generation).rejects.toMatchObject({ code: "ERR_WENXIN_ABORTED" });
    await expect(iteration).rejects.toMatchObject({ code: "ERR_WENXIN_ABORTED" });
  });

  it("defaults to max_length 20 like transformers when no length is set", async () => {
    const ids = plain!.input_ids;
    const copy = await Ernie4_5ForCausalLM.from_pretrained(DENSE_DIR, LOAD);
    try {
      const [out] = await copy.generate_ids(ids, { do_sample: false, eos_token_id: [] });
      expect(out!.length).toBeLessThanOrEqual(20);
      expect(out).toEqual([...ids, ...plain!.greedy_new_ids.slice(0, 20 - ids.length)]);
      await expect(copy.generate_ids(new Array(20).fill(5))).rejects.toThrow(/max_length 20/);
    } finally {
      await copy.dispose();
    }
    await expect(copy.generate_ids(ids, { max_new_tokens: 2 })).rejects.toMatchObject({
      code: "ERR_WENXIN_ENGINE_CLOSED",
    });
  });

  it("rejects a checkpoint of the other model type", async () => {
    await expect(Ernie4_5ForCausalLM.from_pretrained(MOE_DIR, LOAD)).rejects.toMatchObject({
      code: "ERR_WENXIN_UNKNOWN_ARCHITECTURE",
    });
  });
});
