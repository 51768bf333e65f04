// Deltas → message chunks, → a whole message, and → content-block stream events.
import { ChatModelStream } from "@langchain/core/language_models/stream";
import type { AIMessageChunk } from "@langchain/core/messages";
import { describe, expect, it } from "vitest";

import type { ChatDelta, ChatTurn } from "@wenxin/engine/internal";
import { chunkOf, messageOf } from "../../src/utils/chunks.js";
import { registerContentBlockTranslator } from "../../src/utils/content_blocks.js";
import { streamEventsOf } from "../../src/utils/stream_events.js";

registerContentBlockTranslator();

const turn: ChatTurn = {
  content: "Checking.",
  reasoning: "need weather",
  toolCalls: [{ index: 0, id: "call_a", name: "get_weather", arguments: { city: "Paris" } }],
  invalidToolCalls: [{ index: 1, id: "call_b", name: "get_weather", arguments: "丁丁 邮件", error: "not valid JSON" }],
  finishReason: "tool_calls",
  usage: { inputTokens: 10, outputTokens: 7, reasoningTokens: 3 },
  model: "tiny",
};

const deltas: ChatDelta[] = [
  { type: "reasoning", text: "need " },
  { type: "reasoning", text: "weather" },
  { type: "text", text: "Checking." },
  { type: "tool_call_chunk", index: 0, id: "call_a", name: "get_weather", args: "" },
  { type: "tool_call_chunk", index: 0, args: '{"city": ' },
  { type: "tool_call_chunk", index: 0, args: '"Paris"}' },
  { type: "tool_call_chunk", index: 1, id: "call_b", name: "get_weather", args: "丁丁 邮件" },
  { type: "end", turn },
];

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}

describe("chunks", () => {
  it("concatenate to the turn: reasoning, text, tool calls by index, usage on the last chunk", () => {
    const chunks = deltas.map(chunkOf);
    const message = chunks.map((c) => c.message as AIMessageChunk).reduce((a, b) => a.concat(b));
    expect(message.content).toBe("Checking.");
    expect(message.additional_kwargs.reasoning_content).toBe("need weather");
    expect(message.tool_calls).toEqual([
      { type: "tool_call", id: "call_a", name: "get_weather", args: { city: "Paris" } },
    ]);
    expect(message.invalid_tool_calls).toMatchObject([{ id: "call_b", name: "get_weather", args: "丁丁 邮件" }]);
    expect(message.usage_metadata).toMatchObject({
      input_tokens: 10,
      output_tokens: 7,
      total_tokens: 17,
      output_token_details: { reasoning: 3 },
    });
    expect(message.response_metadata).toMatchObject({
      model_provider: "wenxin",
      model: "tiny",
      finish_reason: "tool_calls",
    });
    expect((chunks.at(-1)!.message as AIMessageChunk).usage_metadata).toBeDefined();
  });

  it("make the whole message with standard reasoning blocks", () => {
    const message = messageOf(turn);
    expect(message.tool_calls).toEqual([
      { type: "tool_call", id: "call_a", name: "get_weather", args: { city: "Paris" } },
    ]);
    expect(message.invalid_tool_calls).toEqual([
      { type: "invalid_tool_call", id: "call_b", name: "get_weather", args: "丁丁 邮件", error: "not valid JSON" },
    ]);
    expect(message.contentBlocks.slice(0, 3)).toEqual([
      { type: "reasoning", reasoning: "need weather" },
      { type: "text", text: "Checking." },
      { type: "tool_call", id: "call_a", name: "get_weather", args: { city: "Paris" } },
    ]);
  });
});

describe("streamEventsOf", () => {
  it("emits blocks that LangChain assembles into the same turn", async () => {
    const events = [];
    for await (const e of streamEventsOf(from(deltas))) events.push(e);
    expect(events[0]).toEqual({ event: "message-start" });
    expect(events.at(-1)).toMatchObject({
      event: "message-finish",
      reason: "tool_use",
      usage: { input_tokens: 10, output_tokens: 7 },
    });
    const starts = events
      .filter((e) => e.event === "content-block-start")
      .map((e) => (e.event === "content-block-start" ? e.content.type : ""));
    expect(starts).toEqual(["reasoning", "text", "tool_call_chunk", "tool_call_chunk"]);

    const message = await new ChatModelStream(streamEventsOf(from(deltas)));
    expect(message.content).toEqual([
      { type: "reasoning", reasoning: "need weather" },
      { type: "text", text: "Checking." },
      { type: "tool_call", id: "call_a", name: "get_weather", args: { city: "Paris" } },
      { type: "invalid_tool_call", id: "call_b", name: "get_weather", args: "丁丁 邮件", error: "not valid JSON" },
    ]);
    expect(message.tool_calls).toMatchObject([{ id: "call_a", name: "get_weather", args: { city: "Paris" } }]);
    expect(message.usage_metadata).toMatchObject({ input_tokens: 10, output_tokens: 7, total_tokens: 17 });
    expect(message.response_metadata).toMatchObject({ model: "tiny", finish_reason: "tool_use" });
  });
});
