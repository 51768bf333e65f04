/**
 * A generated assistant turn (AssistantPieces: text, reasoning, tool calls) as the Responses API's
 * output items, with the typed events that stream them. One item is open at a time: a piece of
 * another kind closes it and opens the next (reasoning → message, message → function_call…), and
 * each item goes through added → deltas → done, as OpenAI streams it. A message is opened only by
 * visible text, so whitespace around tool calls makes no empty message. The same builder serves a
 * non-streaming response, with no one listening to the events.
 */
import { randomUUID } from "node:crypto";

import type { AssistantPiece } from "../../chat/assistant_output.js";
import type { ItemStatus, MessageItem, OutputItem, ReasoningItem } from "./protocol.js";

/** Receives each event (without `sequence_number`, which the stream adds). */
export type EventSink = (type: string, payload: Record<string, unknown>) => void;

export function itemId(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll("-", "")}`;
}

export class ResponseOutputBuilder {
  readonly items: OutputItem[] = [];
  private open: OutputItem | undefined;
  /** Whitespace-only text not yet in a message: it joins the next visible text, or is dropped. */
  private pendingSpace = "";

  constructor(private readonly emit: EventSink = () => undefined) {}

  add(pieces: AssistantPiece[]): void {
    for (const p of pieces) {
      switch (p.kind) {
        case "content":
          this.text(p.text);
          break;
        case "reasoning":
          this.reasoning(p.text);
          break;
        case "tool_call_start":
          this.begin({
            type: "function_call",
            id: itemId("fc"),
            status: "in_progress",
            call_id: p.id,
            name: p.name,
            arguments: "",
          });
          break;
        case "tool_call_arguments":
          if (this.open?.type !== "function_call") break; // arguments always follow their call's start
          this.open.arguments += p.text;
          this.emit("response.function_call_arguments.delta", {
            item_id: this.open.id,
            output_index: this.items.length - 1,
            delta: p.text,
          });
          break;
      }
    }
  }

  /** Closes the open item; `incomplete` when generation stopped at the token limit. */
  finish(status: Exclude<ItemStatus, "in_progress">): void {
    this.close(status);
  }

  /** The visible text of every message item, as the SDK's `output_text` joins it. */
  get outputText(): string {
    return this.items.flatMap((i) => (i.type === "message" ? i.content.map((c) => c.text) : [])).join("");
  }

  private text(text: string): void {
    if (this.open?.type !== "message") {
      if (text.trim() === "") {
        this.pendingSpace += text;
        return;
      }
      const item: MessageItem = {
        type: "message",
        id: itemId("msg"),
        status: "in_progress",
        role: "assistant",
        content: [],
      };
      this.begin(item);
      item.content.push({ type: "output_text", text: "", annotations: [] });
      this.emit("response.content_part.added", {
        ...this.at(item),
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [] },
      });
      text = this.pendingSpace + text;
      this.pendingSpace = "";
    }
    const item = this.open as MessageItem;
    item.content[0]!.text += text;
    this.emit("response.output_text.delta", { ...this.at(item), content_index: 0, delta: text, logprobs: [] });
  }

  private reasoning(text: string): void {
    if (this.open?.type !== "reasoning") {
      const item: ReasoningItem = {
        type: "reasoning",
        id: itemId("rs"),
        status: "in_progress",
        summary: [],
        content: [],
      };
      this.begin(item);
      item.content.push({ type: "reasoning_text", text: "" });
      this.emit("response.content_part.added", {
        ...this.at(item),
        content_index: 0,
        part: { type: "reasoning_text", text: "" },
      });
    }
    const item = this.open as ReasoningItem;
    item.content[0]!.text += text;
    this.emit("response.reasoning_text.delta", { ...this.at(item), content_index: 0, delta: text });
  }

  private at(item: OutputItem): { item_id: string; output_index: number } {
    return { item_id: item.id, output_index: this.items.indexOf(item) };
  }

  private begin(item: OutputItem): void {
    this.close("completed");
    this.items.push(item);
    this.open = item;
    // The added event carries the item as it starts (empty), as OpenAI sends it.
    this.emit("response.output_item.added", { output_index: this.items.length - 1, item: structuredClone(item) });
  }

  private close(status: Exclude<ItemStatus, "in_progress">): void {
    const item = this.open;
    if (!item) return;
    this.open = undefined;
    item.status = status;
    const at = this.at(item);
    if (item.type === "message") {
      const part = item.content[0]!;
      this.emit("response.output_text.done", { ...at, content_index: 0, text: part.text, logprobs: [] });
      this.emit("response.content_part.done", { ...at, content_index: 0, part });
    } else if (item.type === "reasoning") {
      const part = item.content[0]!;
      this.emit("response.reasoning_text.done", { ...at, content_index: 0, text: part.text });
      this.emit("response.content_part.done", { ...at, content_index: 0, part });
    } else {
      this.emit("response.function_call_arguments.done", { ...at, name: item.name, arguments: item.arguments });
    }
    this.emit("response.output_item.done", { output_index: at.output_index, item });
  }
}
