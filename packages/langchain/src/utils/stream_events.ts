/**
 * Backend deltas → LangChain's content-block stream events (`streamEvents()`, and `invoke()`
 * under handlers that prefer them): one block per run of reasoning or text, one per tool call,
 * tool calls finished with their strictly parsed arguments.
 */
import type { ChatModelStreamEvent, FinishReason } from "@langchain/core/language_models/event";
import type { ContentBlock } from "@langchain/core/messages";

import type { ChatDelta, ChatTurn } from "@wenxin/engine/internal";
import { responseMetadata, usageMetadata } from "./chunks.js";

function finishReason(turn: ChatTurn): FinishReason {
  if (turn.finishReason === "tool_calls") return "tool_use";
  if (turn.finishReason === "length") return "length";
  return "stop";
}

interface OpenText {
  index: number;
  type: "text" | "reasoning";
  text: string;
}

function finishText(block: OpenText): ChatModelStreamEvent {
  const content: ContentBlock =
    block.type === "text" ? { type: "text", text: block.text } : { type: "reasoning", reasoning: block.text };
  return { event: "content-block-finish", index: block.index, content };
}

export async function* streamEventsOf(deltas: AsyncIterable<ChatDelta>): AsyncGenerator<ChatModelStreamEvent> {
  yield { event: "message-start" };
  let nextIndex = 0;
  let open: OpenText | undefined;
  const toolBlocks = new Map<number, number>(); // call index → block index
  for await (const d of deltas) {
    if (d.type === "text" || d.type === "reasoning") {
      if (open?.type !== d.type) {
        if (open) yield finishText(open);
        open = { index: nextIndex++, type: d.type, text: "" };
        yield {
          event: "content-block-start",
          index: open.index,
          content: d.type === "text" ? { type: "text", text: "" } : { type: "reasoning", reasoning: "" },
        };
      }
      open.text += d.text;
      yield {
        event: "content-block-delta",
        index: open.index,
        delta:
          d.type === "text" ? { type: "text-delta", text: d.text } : { type: "reasoning-delta", reasoning: d.text },
      };
    } else if (d.type === "tool_call_chunk") {
      if (open) yield finishText(open);
      open = undefined;
      let block = toolBlocks.get(d.index);
      if (block === undefined) {
        block = nextIndex++;
        toolBlocks.set(d.index, block);
        yield {
          event: "content-block-start",
          index: block,
          content: { type: "tool_call_chunk", id: d.id, name: d.name, args: "", index: d.index },
        };
      }
      if (d.args)
        yield { event: "content-block-delta", index: block, delta: { type: "tool-call-delta", args: d.args } };
    } else {
      if (open) yield finishText(open);
      open = undefined;
      const { turn } = d;
      for (const c of turn.toolCalls) {
        const block = toolBlocks.get(c.index);
        if (block !== undefined)
          yield {
            event: "content-block-finish",
            index: block,
            content: { type: "tool_call", id: c.id, name: c.name, args: c.arguments },
          };
      }
      for (const c of turn.invalidToolCalls) {
        const block = toolBlocks.get(c.index);
        if (block !== undefined)
          yield {
            event: "content-block-finish",
            index: block,
            content: { type: "invalid_tool_call", id: c.id, name: c.name, args: c.arguments, error: c.error },
          };
      }
      const usage = usageMetadata(turn.usage);
      yield { event: "usage", usage };
      yield { event: "message-finish", reason: finishReason(turn), usage, responseMetadata: responseMetadata(turn) };
    }
  }
}
