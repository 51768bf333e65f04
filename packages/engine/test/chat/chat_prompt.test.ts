// buildChatPrompt, planToolChoice and the tool-turn rendering, on the fixtures' -PT template and
// on a template that takes tools itself.
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { buildChatPrompt } from "../../src/chat/chat_prompt.js";
import { ChatTemplate, type ChatMessage } from "../../src/chat/chat_template.js";
import type { ToolDefinition } from "../../src/chat/chat_types.js";
import { planResponseFormat, planToolChoice, toolCallSchema } from "../../src/chat/tool_choice.js";
import { formatToolCall, renderToolTurns, templateTakesTools, toPythonStyleJson } from "../../src/chat/tool_prompt.js";
import { WenxinError } from "../../src/errors.js";
import { WenxinTokenizer } from "../../src/tokenizer/tokenizer.js";

const DENSE = fileURLToPath(new URL("../../../../test/fixtures/ernie45/tiny-ernie45-dense/", import.meta.url));
const tokenizer = await WenxinTokenizer.fromDirectory(path.resolve(DENSE));
const pt = await ChatTemplate.fromDirectory(path.resolve(DENSE), tokenizer);

/** A Thinking-style template that renders tools and the tool role itself. */
const thinkingTemplate = new ChatTemplate(
  [
    "{%- if tools %}<|im_start|>system\n{% for t in tools %}{{ t.function.name }};{% endfor %}<|im_end|>\n{% endif -%}",
    "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}",
    "{%- if m.tool_calls %}{% for c in m.tool_calls %}[{{ c.function.name }}:{{ c.function.arguments.city }}]{% endfor %}{% endif %}<|im_end|>\n{% endfor -%}",
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% if enable_thinking is not defined or enable_thinking %}<think>\n{% endif %}{% endif %}",
  ].join(""),
  tokenizer,
);

const weather: ToolDefinition = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const clock: ToolDefinition = {
  type: "function",
  function: { name: "get_time", parameters: { type: "object", properties: {} } },
};
const user: ChatMessage[] = [{ role: "user", content: "天气如何?" }];

describe("tool rendering", () => {
  it("writes JSON with Python's separators and tool calls in ERNIE's markup", () => {
    expect(toPythonStyleJson({ a: [1, { b: "文" }], c: null, d: undefined })).toBe(
      '{"a": [1, {"b": "文"}], "c": null}',
    );
    expect(formatToolCall("f", { x: 1 })).toBe('<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>');
  });

  it("tells templates with and without tool support apart", () => {
    expect(templateTakesTools(pt.source)).toBe(false);
    expect(templateTakesTools(thinkingTemplate.source)).toBe(true);
  });

  it("renders earlier calls and tool results as text turns for the -PT template", () => {
    const turns = renderToolTurns([
      { role: "user", content: "Paris and Rome?" },
      {
        role: "assistant",
        content: "",
        tool_calls: [
          { id: "a", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } },
          { id: "b", type: "function", function: { name: "get_weather", arguments: { city: "Rome" } } },
        ],
      },
      { role: "tool", content: "sunny", tool_call_id: "a" },
      { role: "tool", content: "rain", tool_call_id: "b" },
    ]);
    expect(turns).toEqual([
      { role: "user", content: "Paris and Rome?" },
      {
        role: "assistant",
        content: `${formatToolCall("get_weather", { city: "Paris" })}\n${formatToolCall("get_weather", { city: "Rome" })}`,
      },
      { role: "user", content: "<tool_response>\nsunny\n</tool_response>\n<tool_response>\nrain\n</tool_response>" },
    ]);
  });

  it("rejects tool-call arguments that are not a JSON object", () => {
    const bad: ChatMessage[] = [
      { role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: "[1" } }] },
    ];
    expect(() => renderToolTurns(bad)).toThrow(WenxinError);
  });
});

describe("planToolChoice", () => {
  it("forces a named tool by prefilling its head and constraining its arguments", () => {
    const plan = planToolChoice([weather, clock], { name: "get_weather" });
    expect(plan.prefill).toBe('<tool_call>\n{"name": "get_weather", "arguments": ');
    expect(plan.constraint).toEqual({ type: "json_schema", schema: weather.function.parameters });
    expect(plan.stopAfterFirstToolCall).toBe(true);
  });

  it("writes the whole call for a forced tool that takes no arguments", () => {
    const none: ToolDefinition = {
      type: "function",
      function: { name: "now", parameters: { type: "object", properties: {}, additionalProperties: false } },
    };
    const plan = planToolChoice([none, weather], { name: "now" });
    expect(plan.prefill).toBe('<tool_call>\n{"name": "now", "arguments": {}');
    expect(plan.constraint).toBeUndefined();
    // An open object still needs its arguments generated.
    expect(planToolChoice([clock], "required").prefill).toBe('<tool_call>\n{"name": "get_time", "arguments": ');
  });

  it("forces a call to any tool with a schema over all of them", () => {
    const plan = planToolChoice([weather, clock], "required");
    expect(plan.prefill).toBe("<tool_call>\n");
    expect(plan.constraint).toEqual({ type: "json_schema", schema: toolCallSchema([weather, clock]) });
    expect((toolCallSchema([weather, clock]) as { anyOf: unknown[] }).anyOf).toHaveLength(2);
    // With one tool, "required" names it.
    expect(planToolChoice([weather], "required").prefill).toContain('"get_weather"');
  });

  it("shows no tools and parses no calls for 'none'; constrains only strict tools for 'auto'", () => {
    expect(planToolChoice([weather], "none")).toMatchObject({ tools: [], prefill: "", parseToolCalls: false });
    expect(planToolChoice([weather], "auto").constraint).toBeUndefined();
    const strict = { ...weather, function: { ...weather.function, strict: true } };
    expect(planToolChoice([strict, clock], "auto").constraint).toEqual({
      type: "json_schema",
      schema: toolCallSchema([strict]),
      trigger: "<tool_call>",
      rearm: true, // every call of the turn, not only the first
    });
  });

  it("rejects a tool choice it cannot honour", () => {
    expect(() => planToolChoice([weather], { name: "nope" })).toThrow(/not among the tools \(get_weather\)/);
    expect(() => planToolChoice([], "required")).toThrow(WenxinError);
  });

  it("plans response formats", () => {
    expect(planResponseFormat(undefined)).toEqual({ instruction: "" });
    expect(planResponseFormat({ type: "json_object" }).constraint).toEqual({ type: "json_object" });
    const schema = { type: "object", properties: { a: { type: "number" } } };
    const plan = planResponseFormat({ type: "json_schema", json_schema: { name: "x", schema } });
    expect(plan.constraint).toEqual({ type: "json_schema", schema });
    expect(plan.instruction).toContain('"properties": {"a": {"type": "number"}}');
    expect(() => planResponseFormat({ type: "json_schema" } as never)).toThrow(WenxinError);
  });
});

describe("buildChatPrompt on the -PT template", () => {
  it("is the plain template rendering without tools", () => {
    const p = buildChatPrompt(pt, user);
    expect(p.text).toBe(pt.render(user));
    expect(p).toMatchObject({ prefill: "", parser: { startInReasoning: false, parseToolCalls: true } });
    expect(p.constraint).toBeUndefined();
  });

  it("describes tools in a system block", () => {
    const p = buildChatPrompt(pt, [{ role: "system", content: "Be brief." }, ...user], { tools: [weather] });
    expect(p.text.startsWith("<|begin_of_sentence|>Be brief.\n\n# Tools\n")).toBe(true);
    expect(p.text).toContain(`<tools>\n${toPythonStyleJson(weather)}\n</tools>`);
    expect(p.text.endsWith("User: 天气如何?\nAssistant: ")).toBe(true);
  });

  it("prefills a forced call after the generation prompt", () => {
    const p = buildChatPrompt(pt, user, { tools: [weather], toolChoice: { name: "get_weather" } });
    expect(p.text.endsWith('Assistant: <tool_call>\n{"name": "get_weather", "arguments": ')).toBe(true);
    expect(p.prefill).toBe('<tool_call>\n{"name": "get_weather", "arguments": ');
    expect(p.parser.stopAfterFirstToolCall).toBe(true);
    // The markup is one special token each, as the model sees it.
    const ids = tokenizer.encode(p.text);
    expect(ids).toContain(tokenizer.tokenToId("<tool_call>"));
  });

  it("opens <think> when thinking is asked for", () => {
    const p = buildChatPrompt(pt, user, { thinking: true });
    expect(p.text.endsWith("Assistant: <think>\n")).toBe(true);
    expect(p.parser.startInReasoning).toBe(true);
  });

  it("asks for and constrains a response format", () => {
    const schema = { type: "object", properties: { answer: { type: "string" } } };
    const p = buildChatPrompt(pt, user, {
      responseFormat: { type: "json_schema", json_schema: { name: "a", schema } },
    });
    expect(p.text).toContain("validates against this JSON schema");
    expect(p.constraint).toEqual({ type: "json_schema", schema });
    expect(p.parser.stopAfterJson).toBe(true);
  });
});

describe("buildChatPrompt on a template that takes tools", () => {
  const history: ChatMessage[] = [
    ...user,
    {
      role: "assistant",
      content: "",
      tool_calls: [{ id: "a", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } }],
    },
    { role: "tool", content: "sunny", tool_call_id: "a" },
  ];

  it("passes tools and tool turns to the template (arguments as objects)", () => {
    const p = buildChatPrompt(thinkingTemplate, history, { tools: [weather, clock] });
    expect(p.text).toBe(
      "<|im_start|>system\nget_weather;get_time;<|im_end|>\n<|im_start|>user\n天气如何?<|im_end|>\n" +
        "<|im_start|>assistant\n[get_weather:Paris]<|im_end|>\n<|im_start|>tool\nsunny<|im_end|>\n<|im_start|>assistant\n<think>\n",
    );
    expect(p.parser.startInReasoning).toBe(true);
  });

  it("closes the template's <think> for a forced call or when thinking is off", () => {
    const forced = buildChatPrompt(thinkingTemplate, user, { tools: [weather], toolChoice: "required" });
    expect(forced.text.endsWith('<think>\n\n</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": ')).toBe(
      true,
    );
    expect(forced.parser.startInReasoning).toBe(false);
    const off = buildChatPrompt(thinkingTemplate, user, { thinking: false });
    expect(off.text.endsWith("<|im_start|>assistant\n")).toBe(true); // the template honours enable_thinking
    expect(off.parser.startInReasoning).toBe(false);
  });
});
