/** OpenAI chat messages to the engine's ChatMessage list (what the chat template renders). */
import type { ChatMessage } from "@wenxin/engine";

import { clip, QUOTE_CHARS } from "../clip.js";
import { badRequest } from "../errors.js";
import type { ChatCompletionMessage, MessageContent } from "../routes/chat_completions/protocol.js";

/** Text of a message's content: a string, or its text parts joined by newlines. */
export function contentText(content: MessageContent | null | undefined, param: string): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return content
    .map((part, j) => {
      if (part.type === "text" && typeof (part as { text?: unknown }).text === "string")
        return (part as { text: string }).text;
      throw badRequest(
        `${param}[${j}]: content part type '${clip(part.type, QUOTE_CHARS)}' is not supported (this model reads text only)`,
        `${param}[${j}].type`,
      );
    })
    .join("\n");
}

export function toChatMessages(messages: ChatCompletionMessage[]): ChatMessage[] {
  return messages.map((m, i): ChatMessage => {
    const param = `messages[${i}].content`;
    switch (m.role) {
      case "system":
      case "developer":
        return { role: "system", content: contentText(m.content, param) };
      case "user":
        return { role: "user", content: contentText(m.content, param) };
      case "assistant": {
        const out: ChatMessage = { role: "assistant", content: contentText(m.content, param) };
        if (m.tool_calls?.length) out.tool_calls = m.tool_calls;
        if (m.reasoning_content) out.reasoning_content = m.reasoning_content;
        return out;
      }
      case "tool":
        return { role: "tool", content: contentText(m.content, param), tool_call_id: m.tool_call_id };
      case "function":
        return { role: "tool", content: contentText(m.content, param), name: m.name };
    }
  });
}
