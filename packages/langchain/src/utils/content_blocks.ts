/**
 * Standard content blocks for our messages. LangChain looks translators up by
 * `response_metadata.model_provider` in a global registry; registering "wenxin" makes
 * `message.contentBlocks` show ERNIE's reasoning as a standard reasoning block.
 */
import type { AIMessage, AIMessageChunk, ContentBlock } from "@langchain/core/messages";

import { MODEL_PROVIDER } from "./chunks.js";

export function wenxinContentBlocks(message: AIMessage | AIMessageChunk): ContentBlock.Standard[] {
  const blocks: ContentBlock.Standard[] = [];
  const reasoning = message.additional_kwargs?.reasoning_content;
  if (typeof reasoning === "string" && reasoning.length > 0) blocks.push({ type: "reasoning", reasoning });
  if (typeof message.content === "string") {
    if (message.content.length > 0) blocks.push({ type: "text", text: message.content });
  } else {
    for (const b of message.content)
      if (b.type === "text" && typeof b.text === "string") blocks.push({ type: "text", text: b.text });
  }
  for (const c of message.tool_calls ?? []) blocks.push({ type: "tool_call", id: c.id, name: c.name, args: c.args });
  for (const c of message.invalid_tool_calls ?? [])
    blocks.push({ type: "invalid_tool_call", id: c.id, name: c.name, args: c.args, error: c.error });
  const chunks = "tool_call_chunks" in message ? (message.tool_call_chunks ?? []) : [];
  if ((message.tool_calls ?? []).length === 0)
    for (const c of chunks)
      blocks.push({ type: "tool_call_chunk", id: c.id, name: c.name, args: c.args, index: c.index });
  return blocks;
}

type TranslatorRegistry = Map<
  string,
  {
    translateContent: (m: AIMessage) => ContentBlock.Standard[];
    translateContentChunk: (m: AIMessageChunk) => ContentBlock.Standard[];
  }
>;

/** Registers the translator once (the registry is created when @langchain/core/messages loads). */
export function registerContentBlockTranslator(): void {
  const registry = (globalThis as { lc_block_translators_registry?: TranslatorRegistry }).lc_block_translators_registry;
  if (registry && !registry.has(MODEL_PROVIDER))
    registry.set(MODEL_PROVIDER, { translateContent: wenxinContentBlocks, translateContentChunk: wenxinContentBlocks });
}
