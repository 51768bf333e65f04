/**
 * One call's options (LanguageModelV3CallOptions) → the chat request both backends take, plus
 * warnings for what ERNIE ignores. Tools are OpenAI function definitions; a forced call (tool
 * choice `required` or a named tool) and `responseFormat: json` are constrained by the engine's
 * grammar, as are the calls of tools marked `strict` under `auto`.
 */
import type {
  JSONSchema7,
  LanguageModelV3CallOptions,
  LanguageModelV3ToolChoice,
  SharedV3Warning,
} from "@ai-sdk/provider";
import type { ChatConstraint, ResponseFormat, ToolChoiceOption, ToolDefinition } from "@wenxin/engine/internal";
import {
  jsonSchemaWarnings,
  parseOrThrow,
  planResponseFormat,
  planToolChoice,
  type ChatRequest,
} from "@wenxin/engine/internal";

import { wenxinChatOptionsSchema, type WenxinChatSettings } from "../wenxin_settings.js";
import { convertToChatMessages } from "./convert_to_chat_messages.js";

/** The key of this provider's options in `providerOptions`. */
export const PROVIDER_KEY = "wenxin";

/** `$schema` only names a draft: noise in a prompt and no constraint. */
function schemaBody(schema: JSONSchema7): Record<string, unknown> {
  const { $schema: _draft, ...rest } = schema as Record<string, unknown>;
  return rest;
}

function prepareTools(tools: LanguageModelV3CallOptions["tools"], warnings: SharedV3Warning[]): ToolDefinition[] {
  const out: ToolDefinition[] = [];
  for (const tool of tools ?? []) {
    if (tool.type !== "function") {
      warnings.push({ type: "unsupported", feature: `provider-defined tool ${tool.id}` });
      continue;
    }
    out.push({
      type: "function",
      function: {
        name: tool.name,
        ...(tool.description ? { description: tool.description } : {}),
        parameters: schemaBody(tool.inputSchema),
        ...(tool.strict !== undefined ? { strict: tool.strict } : {}),
      },
    });
  }
  return out;
}

function toToolChoice(choice: LanguageModelV3ToolChoice | undefined): ToolChoiceOption | undefined {
  if (!choice) return undefined;
  return choice.type === "tool" ? { name: choice.toolName } : choice.type;
}

function toResponseFormat(format: LanguageModelV3CallOptions["responseFormat"]): ResponseFormat | undefined {
  if (!format || format.type === "text") return undefined;
  if (!format.schema) return { type: "json_object" };
  return {
    type: "json_schema",
    json_schema: {
      name: format.name ?? "response",
      ...(format.description ? { description: format.description } : {}),
      schema: schemaBody(format.schema),
      strict: true,
    },
  };
}

/**
 * The schema keywords the local engine's grammar relaxes for this call's constraint (the one
 * buildChatPrompt picks: a forced call's, else the response format's, else the strict tools').
 */
function relaxedKeywords(
  tools: ToolDefinition[],
  toolChoice: ToolChoiceOption | undefined,
  responseFormat: ResponseFormat | undefined,
): SharedV3Warning[] {
  let constraint: ChatConstraint | undefined;
  let relaxed: string[];
  try {
    const plan = planToolChoice(tools, toolChoice);
    constraint = plan.prefill ? plan.constraint : (planResponseFormat(responseFormat).constraint ?? plan.constraint);
    relaxed = constraint?.type === "json_schema" ? jsonSchemaWarnings(constraint.schema) : [];
  } catch {
    return []; // a bad tool choice, format or schema is reported by the call itself
  }
  const what =
    responseFormat?.type === "json_schema" &&
    constraint?.type === "json_schema" &&
    constraint.schema === responseFormat.json_schema?.schema
      ? "responseFormat.schema"
      : "tool input schema";
  return relaxed.map((w) => ({ type: "other", message: `${what} ${w}` }));
}

/** Headers the AI SDK adds to every call; only others are worth a warning in local mode. */
const SDK_HEADERS = new Set(["user-agent"]);

export interface PreparedRequest {
  request: ChatRequest;
  warnings: SharedV3Warning[];
}

export function prepareRequest(
  options: LanguageModelV3CallOptions,
  settings: WenxinChatSettings,
  mode: "local" | "remote",
): PreparedRequest {
  const warnings: SharedV3Warning[] = [];
  const own = parseOrThrow(
    wenxinChatOptionsSchema,
    { ...settings, ...options.providerOptions?.[PROVIDER_KEY] },
    `providerOptions.${PROVIDER_KEY}`,
  );
  if (options.presencePenalty !== undefined)
    warnings.push({
      type: "unsupported",
      feature: "presencePenalty",
      details: "ERNIE's sampler has repetitionPenalty (providerOptions.wenxin.repetitionPenalty) instead",
    });
  if (options.frequencyPenalty !== undefined)
    warnings.push({
      type: "unsupported",
      feature: "frequencyPenalty",
      details: "ERNIE's sampler has repetitionPenalty (providerOptions.wenxin.repetitionPenalty) instead",
    });
  if (options.includeRawChunks) warnings.push({ type: "unsupported", feature: "includeRawChunks" });
  if (mode === "local" && Object.keys(options.headers ?? {}).some((h) => !SDK_HEADERS.has(h.toLowerCase())))
    warnings.push({ type: "unsupported", feature: "headers", details: "headers apply to remote mode (baseURL) only" });

  const tools = prepareTools(options.tools, warnings);
  const toolChoice = toToolChoice(options.toolChoice);
  const responseFormat = toResponseFormat(options.responseFormat);
  if (mode === "local") warnings.push(...relaxedKeywords(tools, toolChoice, responseFormat));
  const sampling = {
    temperature: options.temperature,
    topP: options.topP,
    topK: options.topK,
    minP: own.minP,
    repetitionPenalty: own.repetitionPenalty,
    seed: options.seed,
    doSample: own.doSample,
    maxTokens: options.maxOutputTokens,
  };
  return {
    request: {
      messages: convertToChatMessages(options.prompt),
      tools,
      ...(toolChoice !== undefined ? { toolChoice } : {}),
      ...(responseFormat ? { responseFormat } : {}),
      ...(own.thinking !== undefined ? { thinking: own.thinking } : {}),
      sampling: Object.fromEntries(Object.entries(sampling).filter(([, v]) => v !== undefined)),
      stop: options.stopSequences ?? [],
    },
    warnings,
  };
}
