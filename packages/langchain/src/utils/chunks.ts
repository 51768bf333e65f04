/**
 * Backend deltas → LangChain message chunks, and a finished turn → an AIMessage. Reasoning goes
 * to `additional_kwargs.reasoning_content` (the key LangChain's reasoning translators read);
 * `response_metadata.model_provider` is "wenxin" on every chunk so that `contentBlocks` turns it
 * into standard reasoning blocks.
 */
import { AIMessage, AIMessageChunk, type UsageMetadata } from "@langchain/core/messages";
import { ChatGenerationChunk } from "@langchain/core/outputs";

import type { ChatDelta, ChatTurn, ChatUsage } from "@wenxin/engine/internal";

export const MODEL_PROVIDER = "wenxin";

export function usageMetadata(usage: ChatUsage): UsageMetadata {
  return {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    ...(usage.reasoningTokens !== undefined ? { output_token_details: { reasoning: usage.reasoningTokens } } : {}),
  };
}

export function responseMetadata(turn: ChatTurn): Record<string, unknown> {
  return {
    model_provider: MODEL_PROVIDER,
    model: turn.model,
    model_name: turn.model,
    finish_reason: turn.finishReason,
    ...(turn.warnings ? { warnings: turn.warnings } : {}),
  };
}

/** The chunk for one delta; the end delta gives the last, empty chunk with usage and metadata. */
export function chunkOf(delta: ChatDelta): ChatGenerationChunk {
  const meta = { model_provider: MODEL_PROVIDER };
  switch (delta.type) {
    case "text":
      return new ChatGenerationChunk({
        text: delta.text,
        message: new AIMessageChunk({ content: delta.text, response_metadata: meta }),
      });
    case "reasoning":
      return new ChatGenerationChunk({
        text: "",
        message: new AIMessageChunk({
          content: "",
          additional_kwargs: { reasoning_content: delta.text },
          response_metadata: meta,
        }),
      });
    case "tool_call_chunk":
      return new ChatGenerationChunk({
        text: "",
        message: new AIMessageChunk({
          content: "",
          tool_call_chunks: [
            {
              type: "tool_call_chunk",
              index: delta.index,
              args: delta.args,
              ...(delta.id !== undefined ? { id: delta.id } : {}),
              ...(delta.name !== undefined ? { name: delta.name } : {}),
            },
          ],
          response_metadata: meta,
        }),
      });
    case "end":
      return new ChatGenerationChunk({
        text: "",
        message: new AIMessageChunk({
          content: "",
          usage_metadata: usageMetadata(delta.turn.usage),
          response_metadata: responseMetadata(delta.turn),
        }),
        generationInfo: { finish_reason: delta.turn.finishReason },
      });
  }
}

/** The whole turn as one message, with strictly parsed tool calls. */
export function messageOf(turn: ChatTurn): AIMessage {
  return new AIMessage({
    content: turn.content,
    additional_kwargs: turn.reasoning ? { reasoning_content: turn.reasoning } : {},
    tool_calls: turn.toolCalls.map((c) => ({ type: "tool_call", id: c.id, name: c.name, args: c.arguments })),
    invalid_tool_calls: turn.invalidToolCalls.map((c) => ({
      type: "invalid_tool_call",
      id: c.id,
      name: c.name,
      args: c.arguments,
      error: c.error,
    })),
    usage_metadata: usageMetadata(turn.usage),
    response_metadata: responseMetadata(turn),
  });
}
