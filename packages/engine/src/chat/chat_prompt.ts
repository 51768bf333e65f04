/**
 * One chat request → the prompt text, the constraint and the output-parser settings. Tools,
 * tool turns, `tool_choice`, `response_format` and thinking all meet here, so the LangChain
 * adapter and the server build prompts the same way.
 */
import type { ChatMessage, ChatTemplate } from "./chat_template.js";
import type { ChatConstraint, ResponseFormat, ToolChoiceOption, ToolDefinition } from "./chat_types.js";
import type { ChatOutputParserOptions } from "./output_parser.js";
import { planResponseFormat, planToolChoice } from "./tool_choice.js";
import {
  normalizeToolTurns,
  renderToolsBlock,
  renderToolTurns,
  templateTakesTools,
  withSystemText,
} from "./tool_prompt.js";

export interface ChatPromptOptions {
  tools?: ToolDefinition[];
  toolChoice?: ToolChoiceOption;
  responseFormat?: ResponseFormat;
  /**
   * Reasoning: `true` opens `<think>` when the template does not, `false` closes one the template
   * opened; unset leaves the template's default. Also passed to the template as `enable_thinking`.
   */
  thinking?: boolean;
}

export interface ChatPrompt {
  /** The full prompt, prefill included; encode it with `tokenizer.encode`. */
  text: string;
  /** The start of the assistant turn written into the prompt: push it into the parser first. */
  prefill: string;
  constraint?: ChatConstraint;
  parser: ChatOutputParserOptions;
}

const CLOSE_THINK = "\n</think>\n\n";

function endsInsideThink(text: string): boolean {
  return text.trimEnd().endsWith("<think>");
}

export function buildChatPrompt(
  template: ChatTemplate,
  messages: ChatMessage[],
  options: ChatPromptOptions = {},
): ChatPrompt {
  const tools = planToolChoice(options.tools ?? [], options.toolChoice);
  const format = planResponseFormat(options.responseFormat);

  const native = templateTakesTools(template.source);
  let turns = native ? normalizeToolTurns(messages) : renderToolTurns(messages);
  const systemText = [!native && tools.tools.length > 0 ? renderToolsBlock(tools.tools) : "", format.instruction]
    .filter((s) => s)
    .join("\n\n");
  turns = withSystemText(turns, systemText);

  let text = template.render(turns, {
    addGenerationPrompt: true,
    ...(native && tools.tools.length > 0 ? { tools: tools.tools } : {}),
    ...(options.thinking !== undefined ? { extra: { enable_thinking: options.thinking } } : {}),
  });

  // A forced tool call wins over a response format; either fixes the turn's first tokens, so
  // reasoning is closed before them.
  const constraint = tools.prefill ? tools.constraint : (format.constraint ?? tools.constraint);
  const fixedStart =
    tools.prefill !== "" || (constraint !== undefined && !("trigger" in constraint && constraint.trigger));
  let open = endsInsideThink(text);
  if (options.thinking === true && !open && !fixedStart) {
    text += "<think>\n";
    open = true;
  }
  if (open && (options.thinking === false || fixedStart)) {
    text += CLOSE_THINK;
    open = false;
  }
  text += tools.prefill;

  return {
    text,
    prefill: tools.prefill,
    ...(constraint ? { constraint } : {}),
    parser: {
      startInReasoning: open,
      parseToolCalls: tools.parseToolCalls,
      stopAfterFirstToolCall: tools.stopAfterFirstToolCall,
      // Constrained calls after a trigger end with their JSON object; what follows is reply text.
      closeCallsAtJsonEnd: constraint !== undefined && "trigger" in constraint && constraint.trigger === "<tool_call>",
      stopAfterJson: tools.prefill === "" && format.constraint !== undefined,
    },
  };
}
