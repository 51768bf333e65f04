/**
 * LangChain messages → the OpenAI-shaped messages of the chat-format layer (which renders them
 * with the model's template) and of the remote API. String and content-block content are both
 * read; reasoning is not sent back, as ERNIE's templates drop it from history.
 */
import { WenxinError, type ChatMessage } from "@wenxin/engine";
import type { AIMessage, ChatMessage as LCChatMessage, ToolMessage } from "@langchain/core/messages";
import { type BaseMessage, type MessageContent } from "@langchain/core/messages";

/** Block types of an AI message that carry no reply text (they are sent through `tool_calls` or not at all). */
const NON_TEXT_AI_BLOCKS = new Set([
  "tool_use",
  "tool_call",
  "reasoning",
  "thinking",
  "redacted_thinking",
  "function_call",
]);

/** The text of a message's content; non-text blocks are an error, except the AI ones above. */
export function contentText(content: MessageContent, role: string): string {
  if (typeof content === "string") return content;
  let text = "";
  for (const block of content as unknown[]) {
    if (typeof block === "string") {
      text += block;
      continue;
    }
    const b = block as { type?: unknown; text?: unknown };
    if ((b.type === "text" || b.type === "text_delta") && typeof b.text === "string") text += b.text;
    else if (role === "assistant" && typeof b.type === "string" && NON_TEXT_AI_BLOCKS.has(b.type)) continue;
    else
      throw new WenxinError(
        "ERR_WENXIN_INVALID_ARGUMENT",
        `ERNIE 4.5 text models take text content only; a ${role} message has a '${String(b.type)}' block`,
        {
          subject: "messages.content",
          actual: b.type,
        },
      );
  }
  return text;
}

const GENERIC_ROLES: Record<string, ChatMessage["role"]> = {
  user: "user",
  human: "user",
  assistant: "assistant",
  ai: "assistant",
  system: "system",
  tool: "tool",
};

/** Converts a conversation; a tool message without a name gets the name of the call it answers. */
export function toChatMessages(messages: BaseMessage[]): ChatMessage[] {
  const callNames = new Map<string, string>();
  return messages.map((m): ChatMessage => {
    const type = m.getType();
    if (type === "system" || type === "developer") return { role: "system", content: contentText(m.content, "system") };
    if (type === "human") return { role: "user", content: contentText(m.content, "user") };
    if (type === "ai") {
      const ai = m as AIMessage;
      const calls = (ai.tool_calls ?? []).map((c, i) => {
        const id = c.id ?? `call_${i}`;
        callNames.set(id, c.name);
        return { id, type: "function" as const, function: { name: c.name, arguments: JSON.stringify(c.args ?? {}) } };
      });
      return {
        role: "assistant",
        content: contentText(ai.content, "assistant"),
        ...(calls.length > 0 ? { tool_calls: calls } : {}),
      };
    }
    if (type === "tool") {
      const tool = m as ToolMessage;
      const name = tool.name ?? callNames.get(tool.tool_call_id);
      return {
        role: "tool",
        content: contentText(tool.content, "tool"),
        tool_call_id: tool.tool_call_id,
        ...(name ? { name } : {}),
      };
    }
    if (type === "generic") {
      const role = GENERIC_ROLES[(m as LCChatMessage).role];
      if (role) return { role, content: contentText(m.content, role) };
    }
    throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `cannot send a '${type}' message to ERNIE 4.5`, {
      subject: "messages",
      actual: type,
    });
  });
}
