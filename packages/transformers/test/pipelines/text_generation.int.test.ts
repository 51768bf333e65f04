// pipeline("text-generation"): chat in → conversation out, text in → text out, compared with the
// engine's own generation for the same prompt.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { AutoModelForCausalLM, pipeline, type PreTrainedModel, type TextGenerationPipeline } from "../../src/index.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

let model: PreTrainedModel;
let generator: TextGenerationPipeline;

beforeAll(async () => {
  model = await AutoModelForCausalLM.from_pretrained(DENSE_DIR, { engine_options: { threads: 2, maxContext: 1024 } });
  generator = await pipeline("text-generation", model);
});
afterAll(() => model?.dispose());

const messages = [
  { role: "system" as const, content: "You are a helpful assistant." },
  { role: "user" as const, content: "你好，介绍一下文心4.5" },
];

describe("text-generation", () => {
  it("chat messages in, the conversation with the assistant's reply out", async () => {
    const [out] = await generator(messages, { max_new_tokens: 20, do_sample: false });
    const reply = await model.engine.generate({ messages, maxNewTokens: 20, temperature: 0 }).result();
    expect(out!.generated_text).toEqual([...messages, { role: "assistant", content: reply.text }]);
  });

  it("text in, prompt + continuation out (or only the continuation)", async () => {
    const prompt = "ERNIE 4.5 is";
    const reply = await model.engine.generate({ prompt, maxNewTokens: 12, temperature: 0 }).result();
    expect(await generator(prompt, { max_new_tokens: 12, do_sample: false })).toEqual([
      { generated_text: prompt + reply.text },
    ]);
    expect(await generator(prompt, { max_new_tokens: 12, do_sample: false, return_full_text: false })).toEqual([
      { generated_text: reply.text },
    ]);
  });

  it("a batch gives one list per input, each as if run alone", async () => {
    const prompts = ["Hello world", "The cat sat on the mat."];
    const batch = await generator(prompts, { max_new_tokens: 8, do_sample: false });
    expect(batch).toHaveLength(2);
    for (const [i, p] of prompts.entries())
      expect(batch[i]).toEqual(await generator(p, { max_new_tokens: 8, do_sample: false }));
    const chats = await generator([messages, [{ role: "user", content: "hi" }]], {
      max_new_tokens: 4,
      do_sample: false,
    });
    expect(chats[1]![0]!.generated_text).toHaveLength(2);
  });

  it("uses 256 new tokens when nothing sets a length, and sampling options with a seed", async () => {
    const [piped, reply] = await Promise.all([
      generator("Hello", { seed: 3, temperature: 0.9, eos_token_id: [] }),
      model.engine
        .generate({
          prompt: "Hello",
          maxNewTokens: 256,
          seed: 3,
          temperature: 0.9,
          topK: 50,
          topP: 0.8,
          doSample: true,
        })
        .result(),
    ]);
    expect(piped[0]!.generated_text).toBe("Hello" + reply.text);
    expect(reply.completionTokens === 256 || reply.finishReason === "stop").toBe(true);
  });

  it("rejects what it cannot run", async () => {
    await expect(generator(42 as never)).rejects.toMatchObject({ code: "ERR_WENXIN_INVALID_ARGUMENT" });
    await expect(pipeline("summarization" as never, model)).rejects.toThrow(
      /unknown pipeline task 'summarization'; supported: text-generation, feature-extraction/,
    );
  });
});
