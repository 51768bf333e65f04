// Several constrained tool calls in one local turn (issue 21): under toolChoice auto, strict tools'
// calls are constrained after each `<tool_call>` and the trigger re-arms once a call's object is
// complete. The random-weight fixture model never writes `<tool_call>` itself, so the engine here
// replays a turn in ERNIE's markup (what the native matcher allows with `rearm`, tested on the real
// engine in packages/engine/test/generation/lazy_trigger.int.test.ts); everything else, the chat
// format, the output parser, the provider and the `ai` package, is real.
import { generateText, streamText, tool } from "ai";
import { Engine, type GenerateOptions, type GenerationEvent } from "@wenxin/engine";
import { afterAll, beforeAll, expect, it } from "vitest";
import { z } from "zod";

import { WenxinChatLanguageModel } from "../src/chat/wenxin_chat_language_model.js";
import { DENSE_DIR } from "../../../test/helpers/fixtures.js";

(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

const TURN =
  'I will look both up.<tool_call>{"name": "weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>\n' +
  '<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>';

let engine: Engine;
const seen: GenerateOptions[] = [];

/** The real engine, except that generate() replays TURN's tokens (after recording its options). */
function replaying(real: Engine): Engine {
  return new Proxy(real, {
    get(target, key, receiver) {
      if (key !== "generate") return Reflect.get(target, key, receiver) as unknown;
      return (options: GenerateOptions) => {
        seen.push(options);
        const ids = target.tokenizer.encode(TURN);
        async function* events(): AsyncGenerator<GenerationEvent> {
          for (const id of ids) yield { type: "token", tokenIds: [id], text: "" } as GenerationEvent;
          yield { type: "done", finishReason: "stop", tokenIds: ids, text: TURN } as unknown as GenerationEvent;
        }
        return events();
      };
    },
  });
}

beforeAll(async () => {
  engine = await Engine.load(DENSE_DIR, { threads: 2, maxContext: 1024 });
});
afterAll(() => engine?.close());

function model(): WenxinChatLanguageModel {
  const fake = replaying(engine);
  return new WenxinChatLanguageModel(
    "tiny",
    {},
    { mode: "local", modelId: "tiny", engine: async () => fake, close: async () => undefined },
  );
}

const weather = tool({
  description: "The weather in a city",
  inputSchema: z.object({ city: z.string(), unit: z.enum(["celsius", "fahrenheit"]) }),
  strict: true,
  execute: async ({ city }) => `${city}: 21`,
});
const add = tool({
  description: "Adds two integers",
  inputSchema: z.object({ a: z.number().int(), b: z.number().int() }),
  strict: true,
  execute: async ({ a, b }) => a + b,
});

it("generateText: both calls of the turn, with their results; the constraint re-arms", async () => {
  seen.length = 0;
  const result = await generateText({
    model: model(),
    prompt: "Weather in Paris, and 2 + 3?",
    tools: { weather, add },
  });
  expect(seen[0]!.constraint).toMatchObject({ type: "json_schema", trigger: "<tool_call>", rearm: true });
  expect(result.finishReason).toBe("tool-calls");
  expect(result.toolCalls.map((c) => [c.toolName, c.input])).toEqual([
    ["weather", { city: "Paris", unit: "celsius" }],
    ["add", { a: 2, b: 3 }],
  ]);
  expect(new Set(result.toolCalls.map((c) => c.toolCallId)).size).toBe(2);
  expect(result.toolResults.map((r) => r.output)).toEqual(["Paris: 21", 5]);
  expect(result.text).toBe("I will look both up.");
});

it("streamText: each call streams its input, then both calls come", async () => {
  const result = streamText({ model: model(), prompt: "Weather in Paris, and 2 + 3?", tools: { weather, add } });
  const types: string[] = [];
  for await (const part of result.fullStream) types.push(part.type);
  expect(types.filter((t) => t === "tool-input-start")).toHaveLength(2);
  expect(types.filter((t) => t === "tool-call")).toHaveLength(2);
  expect((await result.toolCalls).map((c) => c.toolName)).toEqual(["weather", "add"]);
  expect(await result.finishReason).toBe("tool-calls");
});
