/**
 * `withStructuredOutput` for ChatWenxin, after ChatOllama: `jsonSchema` (default) constrains the
 * reply to the schema, `jsonMode` to some JSON object, `functionCalling` forces a call of one
 * tool whose arguments are constrained to the schema. Zod schemas are validated by LangChain's
 * parsers; plain JSON schemas are validated here, so a result that does not match never passes.
 */
import type { BaseLanguageModelInput, StructuredOutputMethodOptions } from "@langchain/core/language_models/base";
import {
  assembleStructuredOutputPipeline,
  createContentParser,
  createFunctionCallingParser,
} from "@langchain/core/language_models/structured_output";
import type { BaseMessage } from "@langchain/core/messages";
import { OutputParserException } from "@langchain/core/output_parsers";
import { RunnableLambda, type Runnable } from "@langchain/core/runnables";
import { toJsonSchema, Validator } from "@langchain/core/utils/json_schema";
import { isInteropZodSchema } from "@langchain/core/utils/types";
import { WenxinError } from "@wenxin/engine";

import type { ChatWenxinCallOptions } from "./types.js";

type AnySchema = Record<string, unknown>;

/** What withStructuredOutput needs of the chat model. */
export interface StructuredOutputModel {
  bindTools(tools: AnySchema[], kwargs?: Partial<ChatWenxinCallOptions>): Runnable<BaseLanguageModelInput, BaseMessage>;
  withConfig(config: Partial<ChatWenxinCallOptions>): Runnable<BaseLanguageModelInput, BaseMessage>;
}

function isSerializable(schema: unknown): boolean {
  return !!schema && typeof schema === "object" && "~standard" in schema;
}

/** Checks parsed output against a plain JSON schema. */
function validatingStep(schema: AnySchema): Runnable<unknown, unknown> {
  const validator = new Validator(schema as ConstructorParameters<typeof Validator>[0], "2020-12", false);
  return RunnableLambda.from((value: unknown) => {
    const result = validator.validate(value);
    if (!result.valid) {
      const detail = result.errors.map((e) => `${e.instanceLocation}: ${e.error}`).join("; ");
      throw new OutputParserException(`The output does not match the JSON schema: ${detail}`, JSON.stringify(value));
    }
    return value;
  });
}

export function withStructuredOutput(
  model: StructuredOutputModel,
  schema: AnySchema,
  config: StructuredOutputMethodOptions<boolean> = {},
): Runnable<BaseLanguageModelInput, unknown> {
  const method = config.method ?? "jsonSchema";
  const typed = isInteropZodSchema(schema) || isSerializable(schema);
  // An OpenAI function definition ({name, parameters}) gives its own name.
  const isFunctionDef =
    !typed && typeof schema.name === "string" && typeof schema.parameters === "object" && schema.parameters !== null;
  const name = config.name ?? (isFunctionDef ? (schema.name as string) : "extract");
  const jsonSchema = (
    isFunctionDef ? schema.parameters : typed ? toJsonSchema(schema as Parameters<typeof toJsonSchema>[0]) : schema
  ) as AnySchema;
  const description = typeof jsonSchema.description === "string" ? jsonSchema.description : undefined;
  const trace = { ls_structured_output_format: { kwargs: { method }, schema: jsonSchema } };

  let llm: Runnable<BaseLanguageModelInput, BaseMessage>;
  let parser: Runnable<BaseMessage, unknown>;
  if (method === "functionCalling") {
    const tool = {
      type: "function",
      function: { name, ...(description ? { description } : {}), parameters: jsonSchema },
    };
    llm = model.bindTools([tool], { tool_choice: name, ...trace } as Partial<ChatWenxinCallOptions>);
    parser = createFunctionCallingParser(
      typed ? (schema as Parameters<typeof createFunctionCallingParser>[0]) : jsonSchema,
      name,
    );
  } else if (method === "jsonSchema" || method === "jsonMode") {
    const response_format =
      method === "jsonSchema"
        ? ({
            type: "json_schema",
            json_schema: { name, ...(description ? { description } : {}), schema: jsonSchema, strict: true },
          } as const)
        : ({ type: "json_object" } as const);
    llm = model.withConfig({ response_format, ...trace } as Partial<ChatWenxinCallOptions>);
    parser = createContentParser(typed ? (schema as Parameters<typeof createContentParser>[0]) : jsonSchema);
  } else {
    throw new WenxinError(
      "ERR_WENXIN_INVALID_ARGUMENT",
      `unknown structured output method '${method}' (use jsonSchema, jsonMode or functionCalling)`,
      {
        subject: "method",
      },
    );
  }
  if (!typed && method !== "jsonMode") parser = parser.pipe(validatingStep(jsonSchema));
  return assembleStructuredOutputPipeline(
    llm,
    parser as Runnable<BaseMessage, Record<string, unknown>>,
    config.includeRaw,
    "ChatWenxinStructuredOutput",
  ) as Runnable<BaseLanguageModelInput, unknown>;
}
