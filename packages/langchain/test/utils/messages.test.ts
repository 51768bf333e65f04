import { AIMessage, ChatMessage, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { WenxinError } from "@wenxin/engine";
import { describe, expect, it } from "vitest";

import { contentText, toChatMessages } from "../../src/utils/messages.js";

describe("toChatMessages", () => {
  it("maps system, human, AI and tool messages with string content", () => {
    const out = toChatMessages([
      new SystemMessage("Be brief."),
      new HumanMessage("What is 1 + 2?"),
      new AIMessage({ content: "", tool_calls: [{ id: "c1", name: "add", args: { a: 1, b: 2 }, type: "tool_call" }] }),
      new ToolMessage("3", "c1", "add"),
      new AIMessage("3"),
    ]);
    expect(out).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "What is 1 + 2?" },
      {
        role: "assistant",
        content: "",
        tool_calls: [{ id: "c1", type: "function", function: { name: "add", arguments: '{"a":1,"b":2}' } }],
      },
      { role: "tool", content: "3", tool_call_id: "c1", name: "add" },
      { role: "assistant", content: "3" },
    ]);
  });

  it("reads list content: text blocks kept, an AI message's tool_use and reasoning blocks skipped", () => {
    const out = toChatMessages([
      new HumanMessage({
        content: [
          { type: "text", text: "What is " },
          { type: "text", text: "1 + 2" },
        ],
      }),
      new AIMessage({
        content: [
          { type: "reasoning", reasoning: "add them" },
          { type: "text", text: "some text" },
          { type: "tool_use", id: "c1", name: "add", input: { a: 1, b: 2 } },
        ],
        tool_calls: [{ id: "c1", name: "add", args: { a: 1, b: 2 }, type: "tool_call" }],
      }),
      new ToolMessage({ content: [{ type: "text", text: "3" }], tool_call_id: "c1" }),
    ]);
    expect(out[0]).toEqual({ role: "user", content: "What is 1 + 2" });
    expect(out[1]).toMatchObject({ role: "assistant", content: "some text" });
    // The tool message has no name: it is taken from the call it answers.
    expect(out[2]).toEqual({ role: "tool", content: "3", tool_call_id: "c1", name: "add" });
  });

  it("accepts generic chat messages with known roles", () => {
    expect(toChatMessages([new ChatMessage("hi", "user"), new ChatMessage("yo", "assistant")])).toEqual([
      { role: "user", content: "hi" },
      { role: "assistant", content: "yo" },
    ]);
    expect(() => toChatMessages([new ChatMessage("x", "narrator")])).toThrow(WenxinError);
  });

  it("rejects images and other non-text input with a typed error", () => {
    const msg = new HumanMessage({
      content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }],
    });
    expect(() => toChatMessages([msg])).toThrow(
      expect.objectContaining({ code: "ERR_WENXIN_INVALID_ARGUMENT", message: expect.stringContaining("'image_url'") }),
    );
    expect(contentText("plain", "user")).toBe("plain");
  });
});
