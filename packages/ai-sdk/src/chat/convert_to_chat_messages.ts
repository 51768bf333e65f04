/**
 * The AI SDK's prompt (LanguageModelV3Prompt) → the OpenAI-shaped messages of the chat-format
 * layer (which renders them with the model's template) and of the remote API. Reasoning parts
 * are not sent back, as ERNIE's templates drop reasoning from history.
 */
import type {
  LanguageModelV3FilePart,
  LanguageModelV3Prompt,
  LanguageModelV3TextPart,
  LanguageModelV3ToolResultOutput,
  LanguageModelV3ToolResultPart,
} from "@ai-sdk/provider";
import { UnsupportedFunctionalityError } from "@ai-sdk/provider";
import type { ChatMessage } from "@wenxin/engine";

function textOf(parts: (LanguageModelV3TextPart | LanguageModelV3FilePart)[], role: string): string {
  let text = "";
  for (const part of parts) {
    if (part.type === "text") text += part.text;
    else
      throw new UnsupportedFunctionalityError({
        functionality: `file parts (${part.mediaType}) in ${role} messages`,
        message: `ERNIE 4.5 text models take text only; a ${role} message has a ${part.mediaType} file part`,
      });
  }
  return text;
}

/** A tool result as the text the model reads. */
export function toolOutputText(output: LanguageModelV3ToolResultOutput): string {
  switch (output.type) {
    case "text":
    case "error-text":
      return output.value;
    case "json":
    case "error-json":
      return JSON.stringify(output.value);
    case "execution-denied":
      return output.reason ? `Tool execution denied: ${output.reason}` : "Tool execution denied.";
    case "content":
      return output.value
        .map((item) => {
          if (item.type === "text") return item.text;
          throw new UnsupportedFunctionalityError({
            functionality: `tool results with '${item.type}' content`,
            message: `ERNIE 4.5 text models take text tool results only, not '${item.type}'`,
          });
        })
        .join("");
  }
}

function toolMessage(part: LanguageModelV3ToolResultPart): ChatMessage {
  return { role: "tool", content: toolOutputText(part.output), tool_call_id: part.toolCallId, name: part.toolName };
}

export function convertToChatMessages(prompt: LanguageModelV3Prompt): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const message of prompt) {
    switch (message.role) {
      case "system":
        messages.push({ role: "system", content: message.content });
        break;
      case "user":
        messages.push({ role: "user", content: textOf(message.content, "user") });
        break;
      case "assistant": {
        let content = "";
        const calls: { id: string; type: "function"; function: { name: string; arguments: string } }[] = [];
        // Results of provider-executed calls: they follow the assistant turn as tool messages.
        const results: ChatMessage[] = [];
        for (const part of message.content) {
          if (part.type === "text") content += part.text;
          else if (part.type === "tool-call")
            calls.push({
              id: part.toolCallId,
              type: "function",
              function: { name: part.toolName, arguments: JSON.stringify(part.input ?? {}) },
            });
          else if (part.type === "tool-result") results.push(toolMessage(part));
          else if (part.type === "file") textOf([part], "assistant");
          // reasoning: dropped from history (ERNIE's templates do the same)
        }
        messages.push({ role: "assistant", content, ...(calls.length > 0 ? { tool_calls: calls } : {}) });
        messages.push(...results);
        break;
      }
      case "tool":
        for (const part of message.content) {
          // Approval responses concern provider-executed tools, which ERNIE has none of.
          if (part.type === "tool-result") messages.push(toolMessage(part));
        }
        break;
    }
  }
  return messages;
}
