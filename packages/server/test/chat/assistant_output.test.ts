// AssistantTurn (the engine's ChatTurnDecoder, then pieces in OpenAI's terms) on token ids of crafted
// ERNIE outputs (the fixture's real tokenizer, fed one id at a time as the engine streams them).
import { beforeAll, describe, expect, it } from "vitest";

import { WenxinTokenizer } from "@wenxin/engine";
import { toolCallPrefix, type ChatOutputParserOptions } from "@wenxin/engine/internal";

import { AssistantMessageBuilder, AssistantTurn, type AssistantPiece } from "../../src/chat/assistant_output.js";
import { toDelta } from "../../src/routes/chat_completions/serving.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

let tokenizer: WenxinTokenizer;

beforeAll(async () => {
  tokenizer = await WenxinTokenizer.fromDirectory(DENSE_DIR);
});

/** Streams `text` as token ids one at a time; returns the per-step pieces and the built message. */
function run(text: string, options: { parser?: ChatOutputParserOptions; prefill?: string; stop?: string[] } = {}) {
  const output = new AssistantTurn(
    tokenizer,
    { parser: options.parser ?? {}, prefill: options.prefill ?? "" },
    options.stop ?? [],
  );
  const steps: AssistantPiece[][] = [output.start()];
  let consumed = 0;
  for (const id of tokenizer.encode(text)) {
    if (output.done) break;
    steps.push(output.push([id]));
    consumed++;
  }
  steps.push(output.end());
  const builder = new AssistantMessageBuilder();
  for (const s of steps) builder.add(s);
  return { output, steps, consumed, message: builder.message(), builder };
}

describe("AssistantTurn", () => {
  it("streams a tool call: name first, then argument deltas that add up to the JSON", () => {
    const { steps, message, builder } = run(
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}\n</tool_call>',
      {
        parser: { parseToolCalls: true },
      },
    );
    expect(builder.hasToolCalls).toBe(true);
    expect(message.content).toBeNull();
    expect(message.tool_calls).toHaveLength(1);
    const call = message.tool_calls![0]!;
    expect(call).toMatchObject({
      type: "function",
      id: expect.stringMatching(/^call_/),
      function: { name: "get_weather" },
    });
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Paris", days: 3 });

    const deltas = steps.map(toDelta).filter((d) => d !== undefined);
    const first = deltas.findIndex((d) => d.tool_calls);
    expect(deltas[first]!.tool_calls![0]).toMatchObject({
      index: 0,
      id: call.id,
      type: "function",
      function: { name: "get_weather" },
    });
    const argumentDeltas = deltas.flatMap((d) => d.tool_calls ?? []).map((c) => c.function.arguments);
    expect(argumentDeltas.filter((a) => a).length).toBeGreaterThan(2);
    expect(argumentDeltas.join("")).toBe(call.function.arguments);
  });

  it("keeps a tool call as text when tool calls are not parsed", () => {
    const text = 'Sure. <tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>';
    const { message } = run(text, { parser: { parseToolCalls: false } });
    expect(message.tool_calls).toBeUndefined();
    expect(message.content).toBe(text);
  });

  it("splits reasoning from the answer when the prompt opened <think>", () => {
    const { message, steps } = run(
      "Think first.\n</think>\n\n<response>\nHello there.\n</response><|end_of_sentence|>",
      { parser: { startInReasoning: true } },
    );
    expect(message).toMatchObject({ reasoning_content: "Think first.", content: "Hello there." });
    expect(steps.some((s) => s.some((p) => p.kind === "reasoning"))).toBe(true);
  });

  it("ends at a stop string and never shows part of it", () => {
    const { output, message, steps, consumed } = run("Hello world, and more text after.", { stop: ["world"] });
    expect(output.done).toBe(true);
    expect(output.stoppedByString).toBe(true);
    expect(message.content).toBe("Hello ");
    expect(consumed).toBeLessThan(tokenizer.encode("Hello world, and more text after.").length);
    for (const s of steps) for (const p of s) if (p.kind === "content") expect("Hello ".includes(p.text)).toBe(true);
  });

  it("completes a forced call from its prefill and says when it is done", () => {
    const { output, message, consumed } = run('{"city": "Rome"}}\n</tool_call> trailing words', {
      prefill: toolCallPrefix("get_weather"),
      parser: { parseToolCalls: true, stopAfterFirstToolCall: true },
    });
    expect(output.done).toBe(true);
    expect(consumed).toBeLessThan(tokenizer.encode('{"city": "Rome"}}\n</tool_call> trailing words').length);
    expect(message.tool_calls![0]!.function).toEqual({ name: "get_weather", arguments: '{"city": "Rome"}' });
  });
});
