// The provider's own conversions, without an engine: prompt → chat messages, call options →
// chat request and warnings, deltas → stream parts.
import {
  UnsupportedFunctionalityError,
  type LanguageModelV3CallOptions,
  type LanguageModelV3ToolResultOutput,
} from "@ai-sdk/provider";
import type { ChatTurn } from "@wenxin/engine/internal";
import { describe, expect, it } from "vitest";

import { convertToChatMessages } from "../src/chat/convert_to_chat_messages.js";
import { prepareRequest } from "../src/chat/prepare_request.js";
import { contentOf, StreamPartWriter, usageOf } from "../src/chat/turn_parts.js";

describe("convertToChatMessages", () => {
  it("converts every role; tool calls and results keep their ids; reasoning is dropped", () => {
    const messages = convertToChatMessages([
      { role: "system", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "Weather in " },
          { type: "text", text: "Paris?" },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "reasoning", text: "I should call the tool." },
          { type: "text", text: "Checking." },
          { type: "tool-call", toolCallId: "call_1", toolName: "weather", input: { city: "Paris" } },
          { type: "tool-call", toolCallId: "call_2", toolName: "time", input: {} },
        ],
      },
      {
        role: "tool",
        content: [
          {
            type: "tool-result",
            toolCallId: "call_1",
            toolName: "weather",
            output: { type: "json", value: { c: 21 } },
          },
          { type: "tool-result", toolCallId: "call_2", toolName: "time", output: { type: "text", value: "noon" } },
        ],
      },
    ]);
    expect(messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
          { id: "call_2", type: "function", function: { name: "time", arguments: "{}" } },
        ],
      },
      { role: "tool", content: '{"c":21}', tool_call_id: "call_1", name: "weather" },
      { role: "tool", content: "noon", tool_call_id: "call_2", name: "time" },
    ]);
  });

  const outputs: [LanguageModelV3ToolResultOutput, string][] = [
    [{ type: "error-text", value: "boom" }, "boom"],
    [{ type: "error-json", value: { error: 1 } }, '{"error":1}'],
    [{ type: "execution-denied", reason: "not allowed" }, "Tool execution denied: not allowed"],
    [{ type: "execution-denied" }, "Tool execution denied."],
    [
      {
        type: "content",
        value: [
          { type: "text", text: "a" },
          { type: "text", text: "b" },
        ],
      },
      "ab",
    ],
  ];
  it.each(outputs)("reads a %j tool result as text", (output, text) => {
    const [message] = convertToChatMessages([
      { role: "tool", content: [{ type: "tool-result", toolCallId: "c", toolName: "t", output }] },
    ]);
    expect(message!.content).toBe(text);
  });

  it("refuses files: ERNIE 4.5 text models take text only", () => {
    expect(() =>
      convertToChatMessages([
        { role: "user", content: [{ type: "file", data: new Uint8Array([1]), mediaType: "image/png" }] },
      ]),
    ).toThrow(UnsupportedFunctionalityError);
  });
});

const base: LanguageModelV3CallOptions = { prompt: [{ role: "user", content: [{ type: "text", text: "Hi" }] }] };

describe("prepareRequest", () => {
  it("maps tools, tool choice and response formats to OpenAI's shapes, without $schema", () => {
    const { request, warnings } = prepareRequest(
      {
        ...base,
        tools: [
          {
            type: "function",
            name: "add",
            description: "Adds",
            inputSchema: { $schema: "http://json-schema.org/draft-07/schema#", type: "object" },
            strict: true,
          },
        ],
        toolChoice: { type: "tool", toolName: "add" },
        responseFormat: { type: "json", schema: { $schema: "x", type: "object" }, name: "answer" },
        maxOutputTokens: 9,
        temperature: 0,
        seed: 3,
        stopSequences: ["END"],
      },
      { thinking: false },
      "local",
    );
    expect(request).toEqual({
      messages: [{ role: "user", content: "Hi" }],
      tools: [
        {
          type: "function",
          function: { name: "add", description: "Adds", parameters: { type: "object" }, strict: true },
        },
      ],
      toolChoice: { name: "add" },
      responseFormat: {
        type: "json_schema",
        json_schema: { name: "answer", schema: { type: "object" }, strict: true },
      },
      thinking: false,
      sampling: { temperature: 0, seed: 3, maxTokens: 9 },
      stop: ["END"],
    });
    expect(warnings).toEqual([]);
    const json = prepareRequest({ ...base, responseFormat: { type: "json" } }, {}, "local");
    expect(json.request.responseFormat).toEqual({ type: "json_object" });
  });

  it("lets providerOptions.wenxin override the model's settings", () => {
    const { request } = prepareRequest(
      { ...base, providerOptions: { wenxin: { thinking: true, minP: 0.1 } } },
      { thinking: false, minP: 0.2, repetitionPenalty: 1.2 },
      "remote",
    );
    expect(request.thinking).toBe(true);
    expect(request.sampling).toEqual({ minP: 0.1, repetitionPenalty: 1.2 });
  });

  it("warns for provider-defined tools, penalties, raw chunks and (locally) HTTP headers", () => {
    const { request, warnings } = prepareRequest(
      {
        ...base,
        tools: [{ type: "provider", id: "openai.web_search", name: "web_search", args: {} }],
        presencePenalty: 1,
        includeRawChunks: true,
        headers: { "user-agent": "ai/6", "x-trace": "1" },
      },
      {},
      "local",
    );
    expect(request.tools).toEqual([]);
    expect(warnings.map((w) => (w.type === "other" ? w.message : w.feature))).toEqual([
      "presencePenalty",
      "includeRawChunks",
      "headers",
      "provider-defined tool openai.web_search",
    ]);
    // The SDK's own user-agent header is no reason to warn.
    expect(prepareRequest({ ...base, headers: { "user-agent": "ai/6" } }, {}, "local").warnings).toEqual([]);
  });
});

const turn = (over: Partial<ChatTurn> = {}): ChatTurn => ({
  content: "",
  reasoning: "",
  toolCalls: [],
  invalidToolCalls: [],
  finishReason: "stop",
  usage: { inputTokens: 10, outputTokens: 5 },
  model: "m",
  ...over,
});

describe("turn parts", () => {
  it("opens and closes a block per change of kind, and streams tool inputs before their calls", () => {
    const w = new StreamPartWriter();
    const parts = [
      ...w.push({ type: "reasoning", text: "think" }),
      ...w.push({ type: "reasoning", text: "ing" }),
      ...w.push({ type: "text", text: "" }),
      ...w.push({ type: "text", text: "Hi" }),
      ...w.push({ type: "tool_call_chunk", index: 0, id: "call_a", name: "add", args: "" }),
      ...w.push({ type: "tool_call_chunk", index: 0, args: '{"a": 1}' }),
      ...w.push({ type: "tool_call_chunk", index: 1, id: "call_b", args: "{oops" }),
      ...w.finish(
        turn({
          toolCalls: [{ index: 0, id: "call_a", name: "add", arguments: { a: 1 } }],
          invalidToolCalls: [{ index: 1, id: "call_b", arguments: "{oops", error: "not JSON" }],
          finishReason: "tool_calls",
        }),
      ),
    ];
    expect(parts).toEqual([
      { type: "reasoning-start", id: "rsn-0" },
      { type: "reasoning-delta", id: "rsn-0", delta: "think" },
      { type: "reasoning-delta", id: "rsn-0", delta: "ing" },
      { type: "reasoning-end", id: "rsn-0" },
      { type: "text-start", id: "txt-1" },
      { type: "text-delta", id: "txt-1", delta: "Hi" },
      { type: "text-end", id: "txt-1" },
      { type: "tool-input-start", id: "call_a", toolName: "add" },
      { type: "tool-input-delta", id: "call_a", delta: '{"a": 1}' },
      { type: "tool-input-start", id: "call_b", toolName: "" },
      { type: "tool-input-delta", id: "call_b", delta: "{oops" },
      { type: "tool-input-end", id: "call_a" },
      { type: "tool-call", toolCallId: "call_a", toolName: "add", input: '{"a":1}' },
      { type: "tool-input-end", id: "call_b" },
      { type: "tool-call", toolCallId: "call_b", toolName: "", input: "{oops" },
    ]);
  });

  it("gives doGenerate's content in order and the usage with reasoning tokens split out", () => {
    const t = turn({ content: "4", reasoning: "2+2", usage: { inputTokens: 7, outputTokens: 6, reasoningTokens: 4 } });
    expect(contentOf(t)).toEqual([
      { type: "reasoning", text: "2+2" },
      { type: "text", text: "4" },
    ]);
    expect(usageOf(t)).toMatchObject({
      inputTokens: { total: 7 },
      outputTokens: { total: 6, text: 2, reasoning: 4 },
    });
  });
});
