/**
 * Responses API items ↔ the engine's chat messages. Input items become the turns the chat template
 * renders (a reasoning item, an assistant message and function calls in a row are one assistant
 * turn; a function call's output is a tool turn); a finished response becomes the assistant turn
 * stored for `previous_response_id`.
 */
import type { ChatMessage } from "@wenxin/engine";

import { clip, QUOTE_CHARS } from "../../clip.js";
import { badRequest } from "../../errors.js";
import type { ToolCall } from "../chat_completions/protocol.js";
import type { InputItem, ItemContent, OutputItem } from "./protocol.js";

interface AssistantTurn {
  role: "assistant";
  content: string;
  reasoning_content?: string;
  tool_calls?: ToolCall[];
  [k: string]: unknown; // a ChatMessage
}

/** The text of an item's content: a string, or its text parts joined by newlines. */
function itemText(content: ItemContent, param: string): string {
  if (typeof content === "string") return content;
  return content
    .map((part, j) => {
      if ((part.type === "input_text" || part.type === "output_text") && typeof part.text === "string")
        return part.text;
      throw badRequest(
        `${param}[${j}]: content part type '${clip(part.type, QUOTE_CHARS)}' is not supported (this model reads text only)`,
        `${param}[${j}].type`,
      );
    })
    .join("\n");
}

/** The conversation `input` adds (a bare string is one user message). */
export function inputMessages(input: string | InputItem[] | undefined): ChatMessage[] {
  if (input === undefined) return [];
  if (typeof input === "string") return [{ role: "user", content: input }];
  const out: ChatMessage[] = [];
  let turn: AssistantTurn | undefined;
  const assistantTurn = (): AssistantTurn => (turn ??= { role: "assistant", content: "" });
  const flush = () => {
    if (turn) out.push(turn);
    turn = undefined;
  };
  input.forEach((item, i) => {
    const param = `input[${i}]`;
    switch (item.type) {
      case "function_call": {
        const call = {
          id: item.call_id,
          type: "function" as const,
          function: { name: item.name, arguments: item.arguments },
        };
        const t = assistantTurn();
        t.tool_calls = [...(t.tool_calls ?? []), call];
        return;
      }
      case "function_call_output":
        flush();
        out.push({ role: "tool", content: itemText(item.output, `${param}.output`), tool_call_id: item.call_id });
        return;
      case "reasoning": {
        const text = (item.content ?? []).map((c) => c.text).join("");
        const t = assistantTurn();
        t.reasoning_content = (t.reasoning_content ?? "") + text;
        return;
      }
      case "message": {
        const text = itemText(item.content, `${param}.content`);
        if (item.role === "assistant") {
          // Reasoning or calls before it belong to the same turn; text after text starts a new one.
          if (turn && turn.content !== "") flush();
          assistantTurn().content = text;
          return;
        }
        flush();
        out.push({ role: item.role === "user" ? "user" : "system", content: text });
        return;
      }
    }
  });
  flush();
  return out;
}

/** The assistant turn a response's output makes, as the next request's history sees it. */
export function outputTurn(output: OutputItem[]): ChatMessage {
  const turn: AssistantTurn = { role: "assistant", content: "" };
  for (const item of output) {
    if (item.type === "message") turn.content += item.content.map((c) => c.text).join("");
    else if (item.type === "reasoning")
      turn.reasoning_content = (turn.reasoning_content ?? "") + item.content.map((c) => c.text).join("");
    else
      turn.tool_calls = [
        ...(turn.tool_calls ?? []),
        { id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments } },
      ];
  }
  return turn;
}
