import { describe, expect, it } from "vitest";

import { contentText, toChatMessages } from "../../src/chat/messages.js";
import { ApiError } from "../../src/errors.js";

describe("toChatMessages", () => {
  it("maps every OpenAI role and content form to the engine's messages", () => {
    const calls = [{ id: "call_1", type: "function" as const, function: { name: "f", arguments: "{}" } }];
    expect(
      toChatMessages([
        { role: "developer", content: "be brief" },
        {
          role: "system",
          content: [
            { type: "text", text: "a" },
            { type: "text", text: "b" },
          ],
        },
        { role: "user", content: "hi", name: "bob" },
        { role: "assistant", content: null, tool_calls: calls },
        { role: "tool", content: "42", tool_call_id: "call_1" },
        { role: "function", content: "old", name: "f" },
      ]),
    ).toEqual([
      { role: "system", content: "be brief" },
      { role: "system", content: "a\nb" },
      { role: "user", content: "hi" },
      { role: "assistant", content: "", tool_calls: calls },
      { role: "tool", content: "42", tool_call_id: "call_1" },
      { role: "tool", content: "old", name: "f" },
    ]);
  });

  it("refuses non-text content parts with the parameter that holds them", () => {
    const err = (() => {
      try {
        contentText([{ type: "text", text: "x" }, { type: "input_audio" }], "messages[2].content");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, param: "messages[2].content[1].type" });
    expect((err as Error).message).toContain("'input_audio'");
  });
});
