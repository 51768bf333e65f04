// Issue 19.3: the idioms of transformers.js code beyond its docs' snippets (those run verbatim in
// transformers_js_docs.int.test.ts): pipeline options, chat through AutoTokenizer +
// AutoModelForCausalLM + apply_chat_template + generate + TextStreamer as the model cards write it,
// tokenizer() Tensors, dtype names and env. The model is the tiny fixture, found through env.localModelPath as
// transformers.js finds local models ("ernie45/tiny-ernie45-dense" under test/fixtures), with
// env.allowRemoteModels = false so that nothing is fetched.
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { AutoModelForCausalLM, AutoTokenizer, env, pipeline, Tensor, TextStreamer } from "../../src/index.js";
import { FIXTURES } from "../../../../test/helpers/fixtures.js";

const MODEL = "ernie45/tiny-ernie45-dense";
const saved = { ...env };

beforeAll(() => {
  env.localModelPath = path.dirname(FIXTURES);
  env.allowRemoteModels = false;
});
afterAll(() => Object.assign(env, saved));

describe("transformers.js idioms, as its docs write them", () => {
  it("text-generation pipeline: a prompt in, [{ generated_text }] out", async () => {
    const generator = await pipeline("text-generation", MODEL);
    try {
      const text = "I enjoy walking with my cute dog,";
      const output = await generator(text, { max_new_tokens: 20, do_sample: true, top_k: 5 });
      expect(output).toHaveLength(1);
      expect(output[0]!.generated_text.startsWith(text)).toBe(true);
      const greedy = await generator(text, { max_new_tokens: 8, do_sample: false, return_full_text: false });
      expect(typeof greedy[0]!.generated_text).toBe("string");
    } finally {
      await generator.dispose();
    }
  });

  it("text-generation pipeline with chat messages: the conversation comes back with the reply", async () => {
    const generator = await pipeline("text-generation", MODEL, { dtype: "q8" });
    try {
      const messages = [
        { role: "system" as const, content: "You are a helpful assistant." },
        { role: "user" as const, content: "Tell me a funny joke." },
      ];
      const output = await generator(messages, { max_new_tokens: 16, do_sample: false });
      const conversation = output[0]!.generated_text as { role: string; content: string }[];
      expect(conversation.slice(0, 2)).toEqual(messages);
      expect(conversation.at(-1)!.role).toBe("assistant");
      const reply = await generator(messages, { max_new_tokens: 16, do_sample: false, return_full_text: false });
      expect(reply[0]!.generated_text).toEqual(conversation.at(-1)!.content);
    } finally {
      await generator.dispose();
    }
  });

  it("feature-extraction pipeline: a Tensor of mean-pooled, normalized embeddings; tolist()", async () => {
    const extractor = await pipeline("feature-extraction", MODEL);
    try {
      const output = await extractor("This is a simple test.", { pooling: "mean", normalize: true });
      expect(output).toBeInstanceOf(Tensor);
      expect(output.type).toBe("float32");
      expect(output.dims).toEqual([1, 128]);
      expect(output.data).toBeInstanceOf(Float32Array);
      const [embedding] = output.tolist() as number[][];
      expect(embedding).toHaveLength(128);
      expect(Math.hypot(...embedding!)).toBeCloseTo(1, 5);

      const sentences = ["That is a happy person", "That is a very happy person"];
      const batch = await extractor(sentences, { pooling: "mean", normalize: true });
      expect(batch.dims).toEqual([2, 128]);
    } finally {
      await extractor.dispose();
    }
  });

  it("chat with AutoTokenizer + AutoModelForCausalLM: apply_chat_template(return_dict), generate, batch_decode", async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(MODEL);
    const model = await AutoModelForCausalLM.from_pretrained(MODEL, { dtype: "q4" });
    try {
      const messages = [
        { role: "system" as const, content: "You are a helpful assistant." },
        { role: "user" as const, content: "Write me a short poem about Machine Learning." },
      ];
      const inputs = tokenizer.apply_chat_template(messages, { add_generation_prompt: true, return_dict: true });
      expect(inputs.input_ids.dims[0]).toBe(1);

      let streamed = "";
      const streamer = new TextStreamer(tokenizer, {
        skip_prompt: true,
        callback_function: (text) => {
          streamed += text;
        },
      });
      const { sequences } = await model.generate({
        ...inputs,
        max_new_tokens: 24,
        do_sample: false,
        streamer,
        return_dict_in_generate: true,
      });
      const decoded = tokenizer.batch_decode(sequences.slice(null, [inputs.input_ids.dims[1]!, null]), {
        skip_special_tokens: true,
      });
      expect(decoded).toHaveLength(1);
      expect(streamed).toBe(decoded[0]);

      // The plain form: a Tensor of the whole sequences.
      const output = await model.generate({ ...inputs, max_new_tokens: 8, do_sample: false });
      expect(output).toBeInstanceOf(Tensor);
      expect(output.dims[1]).toBeGreaterThan(inputs.input_ids.dims[1]!);
      const fresh = tokenizer.decode(output.slice(0, [inputs.input_ids.dims[1]!, null]), { skip_special_tokens: true });
      expect(decoded[0]!.startsWith(fresh)).toBe(true);
    } finally {
      await model.dispose();
    }
  });

  it("tokenizer(text) gives int64 Tensors; text_pair and return_tensor: false as in transformers.js", async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(MODEL);
    const { input_ids, attention_mask } = tokenizer("I love transformers!");
    expect(input_ids.type).toBe("int64");
    expect(input_ids.dims).toEqual(attention_mask.dims);
    const pair = tokenizer("Hello", { text_pair: "world", return_token_type_ids: true, return_tensor: false });
    expect(pair.input_ids).toEqual([...tokenizer.encode("Hello"), ...tokenizer.encode("world")]);
    expect(pair.token_type_ids).toEqual([
      ...tokenizer.encode("Hello").map(() => 0),
      ...tokenizer.encode("world").map(() => 1),
    ]);
    expect(() => tokenizer("x", { return_tensorz: true } as never)).toThrow(/unknown option\(s\) 'return_tensorz'/);
  });

  it("a dtype the engine does not have is named, with the ones it has", async () => {
    await expect(AutoModelForCausalLM.from_pretrained(MODEL, { dtype: "fp64" })).rejects.toThrow(
      /dtype 'fp64' is not supported; use one of 'auto', 'fp32', 'float32', 'bf16', 'bfloat16', 'fp16', 'q8', 'int8', 'uint8', 'quantized', 'q4', 'q4f16', 'bnb4'/,
    );
  });

  it("env.allowRemoteModels = false: a model that is not local is not fetched", async () => {
    await expect(AutoTokenizer.from_pretrained("baidu/not-here")).rejects.toMatchObject({
      code: "ERR_WENXIN_FILE_NOT_FOUND",
    });
  });
});
