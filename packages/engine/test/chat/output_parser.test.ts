// ChatOutputParser on crafted model outputs in ERNIE's markup (the formats vLLM's and FastDeploy's
// ernie45 parsers accept), pushed whole and in every small piece size.
import { describe, expect, it } from "vitest";

import { ChatOutputParser, type ChatOutputEvent, type ChatOutputParserOptions } from "../../src/chat/output_parser.js";

function idFactory(): () => string {
  let n = 0;
  return () => `call_${n++}`;
}

function run(text: string, size: number, options: ChatOutputParserOptions = {}) {
  const parser = new ChatOutputParser({ newToolCallId: idFactory(), ...options });
  const events: ChatOutputEvent[] = [];
  for (let i = 0; i < text.length && !parser.done; i += size) events.push(...parser.push(text.slice(i, i + size)));
  events.push(...parser.finish());
  return { parser, events, result: parser.result() };
}

/** Parses `text` in pieces of several sizes and checks they all agree; returns the whole-text run. */
function parse(text: string, options: ChatOutputParserOptions = {}) {
  const whole = run(text, text.length || 1, options);
  for (const size of [1, 2, 3, 5, 11]) {
    const r = run(text, size, options);
    expect(r.result, `pieces of ${size}`).toEqual(whole.result);
    // Streamed events add up to the result, whatever the split.
    expect(joined(r.events, "text")).toBe(whole.result.content);
    expect(joined(r.events, "reasoning")).toBe(whole.result.reasoning);
    for (const call of whole.result.toolCalls)
      expect(JSON.parse(streamedArgs(r.events, call.index))).toEqual(call.arguments);
  }
  return whole;
}

function joined(events: ChatOutputEvent[], type: "text" | "reasoning"): string {
  return events.map((e) => (e.type === type ? e.text : "")).join("");
}

function streamedArgs(events: ChatOutputEvent[], index: number): string {
  return events.map((e) => (e.type === "tool_call_delta" && e.index === index ? e.arguments : "")).join("");
}

describe("ChatOutputParser: text and reasoning", () => {
  it("passes plain text through unchanged", () => {
    const text = "  Hello, 文心! <b>not a marker</b> a < b\n";
    const { result } = parse(text);
    expect(result).toEqual({ content: text, reasoning: "", toolCalls: [], invalidToolCalls: [] });
  });

  it("splits reasoning from a <response> answer (Thinking format)", () => {
    const { result } = parse("Let me think.\nStep two.\n</think>\n\n<response>\nThe answer is 42.\n</response>\n", {
      startInReasoning: true,
    });
    expect(result.reasoning).toBe("Let me think.\nStep two.");
    expect(result.content).toBe("The answer is 42.");
  });

  it("reads reasoning from the start only when the prompt opened <think>", () => {
    const out = "I should greet.\n</think>\n\nHello!";
    expect(parse(out, { startInReasoning: true }).result).toMatchObject({
      reasoning: "I should greet.",
      content: "Hello!",
    });
    // Without an open <think>, a stray </think> is dropped and the text stays the reply.
    expect(parse(out).result).toMatchObject({ reasoning: "", content: "I should greet.\nHello!" });
  });

  it("accepts a <think> block the model opens itself", () => {
    const { result } = parse("<think>\nhmm\n</think>\n\nDone.");
    expect(result).toMatchObject({ reasoning: "\nhmm", content: "Done." });
  });

  it("treats output without </think> as all reasoning, as FastDeploy does", () => {
    const { result } = parse("still thinking\n", { startInReasoning: true });
    expect(result).toMatchObject({ reasoning: "still thinking\n", content: "" });
  });
});

describe("ChatOutputParser: tool calls", () => {
  it("parses one call and streams its arguments", () => {
    const { result, events } = parse(
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "北京", "days": [1, 2]}}\n</tool_call>',
    );
    expect(result.content).toBe("");
    expect(result.toolCalls).toEqual([
      { index: 0, id: "call_0", name: "get_weather", arguments: { city: "北京", days: [1, 2] } },
    ]);
    expect(events[0]).toEqual({ type: "tool_call_begin", index: 0, id: "call_0", name: "get_weather" });
    expect(streamedArgs(events, 0)).toBe('{"city": "北京", "days": [1, 2]}');
  });

  it("streams arguments before the block is closed", () => {
    const parser = new ChatOutputParser({ newToolCallId: idFactory() });
    const first = parser.push('<tool_call>\n{"name": "search", "arguments": {"query": "ERNIE 4.5 ');
    expect(first).toEqual([
      { type: "tool_call_begin", index: 0, id: "call_0", name: "search" },
      // Trailing whitespace and braces wait: the last "}" closes the call object, not the arguments.
      { type: "tool_call_delta", index: 0, arguments: '{"query": "ERNIE 4.5' },
    ]);
    expect(parser.push('MoE"}')).toEqual([{ type: "tool_call_delta", index: 0, arguments: ' MoE"' }]);
    const closing = parser.push("}\n</tool_call>");
    expect(closing).toEqual([
      { type: "tool_call_delta", index: 0, arguments: "}" },
      {
        type: "tool_call_end",
        call: { index: 0, id: "call_0", name: "search", arguments: { query: "ERNIE 4.5 MoE" } },
      },
    ]);
  });

  it("reads several blocks as parallel calls with distinct ids, after reasoning", () => {
    const text =
      'Two cities.\n</think>\n\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n' +
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>\n';
    const { result } = parse(text, { startInReasoning: true });
    expect(result.reasoning).toBe("Two cities.");
    expect(result.content).toBe("");
    expect(result.toolCalls.map((c) => [c.index, c.id, c.arguments.city])).toEqual([
      [0, "call_0", "Paris"],
      [1, "call_1", "Rome"],
    ]);
  });

  it("keeps text before a call and text after it", () => {
    const { result } = parse('Checking.\n<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>\nDone.');
    expect(result.content).toBe("Checking.\n\nDone.");
    expect(result.toolCalls).toHaveLength(1);
  });

  it("accepts arguments given as a JSON string, and keys in the other order", () => {
    const a = parse('<tool_call>{"name": "f", "arguments": "{\\"x\\": 1}"}</tool_call>');
    expect(a.result.toolCalls[0]).toMatchObject({ name: "f", arguments: { x: 1 } });
    expect(streamedArgs(a.events, 0)).toBe('{"x":1}'); // streamed as the object, not the string
    const b = parse('<tool_call>{"arguments": {"x": 2}, "name": "g"}</tool_call>');
    expect(b.result.toolCalls[0]).toMatchObject({ name: "g", arguments: { x: 2 } });
    expect(b.events.find((e) => e.type === "tool_call_begin")).toMatchObject({ name: "g" });
    expect(streamedArgs(b.events, 0)).toBe('{"x":2}');
  });

  it.each([
    ["broken JSON", '<tool_call>\n{"name": "f", "arguments": {"x": 1,,}}\n</tool_call>', "f", "not valid JSON"],
    ["no name", '<tool_call>\n{"arguments": {}}\n</tool_call>', undefined, 'no "name"'],
    ["arguments not an object", '<tool_call>\n{"name": "f", "arguments": [1]}\n</tool_call>', "f", "not a JSON object"],
    ["gibberish", "<tool_call>\n丁丁 邮件\n</tool_call>", undefined, "not valid JSON"],
  ])("turns %s into an invalid call, not an error", (_what, text, name, error) => {
    const { result, events } = parse(text);
    expect(result.toolCalls).toEqual([]);
    expect(result.invalidToolCalls).toHaveLength(1);
    expect(result.invalidToolCalls[0]).toMatchObject({ index: 0, id: "call_0" });
    expect(result.invalidToolCalls[0]!.name).toBe(name);
    expect(result.invalidToolCalls[0]!.error).toContain(error);
    expect(events.filter((e) => e.type === "tool_call_invalid")).toHaveLength(1);
  });

  it("closes a call cut off by the end of the output when its JSON is complete", () => {
    const { result } = parse('<tool_call>\n{"name": "f", "arguments": {"x": 1}}');
    expect(result.toolCalls).toEqual([{ index: 0, id: "call_0", name: "f", arguments: { x: 1 } }]);
    const truncated = parse('<tool_call>\n{"name": "f", "arguments": {"x": ').result;
    expect(truncated.invalidToolCalls[0]).toMatchObject({ name: "f", arguments: '{"x":' });
  });

  it("leaves tool-call markup in the text when tool calls are off", () => {
    const text = '<tool_call>{"name": "f", "arguments": {}}</tool_call>';
    expect(parse(text, { parseToolCalls: false }).result).toMatchObject({ content: text, toolCalls: [] });
  });
});

describe("ChatOutputParser: constrained calls under auto (closeCallsAtJsonEnd)", () => {
  const options = { closeCallsAtJsonEnd: true };

  it("closes each call at the end of its object: free text between calls, no </tool_call> needed", () => {
    const text =
      'Let me check.<tool_call>{"name": "weather", "arguments": {"city": "Paris"}} and }more{ words' +
      '<tool_call>{"name":"add","arguments":{"a":1,"b":2}}\n</tool_call>\nDone.';
    const { result } = parse(text, options);
    expect(result.toolCalls.map((c) => [c.name, c.arguments])).toEqual([
      ["weather", { city: "Paris" }],
      ["add", { a: 1, b: 2 }],
    ]);
    expect(result.invalidToolCalls).toEqual([]);
    expect(result.content).toBe("Let me check. and }more{ words\nDone.");
  });

  it("a call cut off by the end of the output stays one call, as before", () => {
    const { result } = parse('<tool_call>{"name": "add", "arguments": {"a": 1', options);
    expect(result.toolCalls).toEqual([]);
    expect(result.invalidToolCalls).toHaveLength(1);
  });
});

describe("ChatOutputParser: forced turns", () => {
  it("ends a prefilled call as soon as its arguments are complete", () => {
    const parser = new ChatOutputParser({ stopAfterFirstToolCall: true, newToolCallId: idFactory() });
    // The call begins once its arguments start as an object.
    expect(parser.push('<tool_call>\n{"name": "get_weather", "arguments": ')).toEqual([]);
    expect(parser.push("{")).toEqual([
      { type: "tool_call_begin", index: 0, id: "call_0", name: "get_weather" },
      { type: "tool_call_delta", index: 0, arguments: "{" },
    ]);
    expect(parser.done).toBe(false);
    const rest = parser.push('"city": "Paris", "unit": {"c": true}} and then more text');
    expect(parser.done).toBe(true);
    expect(rest.at(-1)).toEqual({
      type: "tool_call_end",
      call: { index: 0, id: "call_0", name: "get_weather", arguments: { city: "Paris", unit: { c: true } } },
    });
    expect(rest.map((e) => (e.type === "tool_call_delta" ? e.arguments : "")).join("")).toBe(
      '"city": "Paris", "unit": {"c": true}}',
    );
    expect(parser.push("<tool_call>")).toEqual([]);
    expect(parser.finish()).toEqual([]);
  });

  it("ends a required call whose object completes (any tool)", () => {
    const { parser, result } = run('<tool_call>\n{"name": "b", "arguments": {"k": "v"}}\n</tool_call> tail', 4, {
      stopAfterFirstToolCall: true,
    });
    expect(parser.done).toBe(true);
    expect(result.toolCalls).toMatchObject([{ name: "b", arguments: { k: "v" } }]);
    expect(result.content).toBe("");
  });

  it("keeps an unparseable forced call as invalid with its name", () => {
    const { result } = run('<tool_call>\n{"name": "get_weather", "arguments": 丁丁邮件', 3, {
      stopAfterFirstToolCall: true,
    });
    expect(result.invalidToolCalls).toMatchObject([{ name: "get_weather", arguments: "丁丁邮件" }]);
  });

  it("ends a structured reply when its JSON value is complete", () => {
    const { parser, result } = run('{"title": "文心", "tags": ["a", "}"]}\nThanks!', 2, { stopAfterJson: true });
    expect(parser.done).toBe(true);
    expect(JSON.parse(result.content)).toEqual({ title: "文心", tags: ["a", "}"] });
  });

  it("lets reasoning come before a structured reply", () => {
    const { result } = run('plan\n</think>\n\n{"a": 1} extra', 1, { startInReasoning: true, stopAfterJson: true });
    expect(result).toMatchObject({ reasoning: "plan", content: '{"a": 1}' });
  });
});
