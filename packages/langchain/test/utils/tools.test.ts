import { RunnableLambda } from "@langchain/core/runnables";
import { StructuredTool, tool } from "@langchain/core/tools";
import { toJsonSchema } from "@langchain/core/utils/json_schema";
import { WenxinError } from "@wenxin/engine";
import { toOpenAIToolChoice } from "@wenxin/engine/internal";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { z as z3 } from "zod/v3";

import { toToolChoice, toToolDefinition } from "../../src/utils/tools.js";

const adder = z.object({ a: z.number().describe("first"), b: z.number().describe("second") }).describe("Adds a and b");
const adderJson = toJsonSchema(adder) as Record<string, unknown>;

class AdderTool extends StructuredTool {
  name = "add";
  description = "Adds a and b";
  schema = z3.object({ a: z3.number(), b: z3.number() });
  async _call(input: { a: number; b: number }) {
    return String(input.a + input.b);
  }
}

describe("toToolDefinition", () => {
  it.each([
    ["a tool() with a zod schema", tool(async () => "", { name: "add", description: "Adds a and b", schema: adder })],
    ["a StructuredTool (zod v3)", new AdderTool()],
    ["{name, description, schema: zod}", { name: "add", description: "Adds a and b", schema: adder }],
    ["{name, description, schema: JSON schema}", { name: "add", description: "Adds a and b", schema: adderJson }],
    [
      "an OpenAI tool",
      { type: "function", function: { name: "add", description: "Adds a and b", parameters: adderJson } },
    ],
    [
      "a RunnableToolLike",
      RunnableLambda.from(() => "").asTool({ name: "add", description: "Adds a and b", schema: adder }),
    ],
  ])("reads %s as an OpenAI tool with a JSON schema", (_what, input) => {
    const def = toToolDefinition(input);
    expect(def.type).toBe("function");
    expect(def.function.name).toBe("add");
    expect(def.function.description).toBe("Adds a and b");
    const params = def.function.parameters as {
      type: string;
      properties: Record<string, { type: string }>;
      required: string[];
    };
    expect(params.type).toBe("object");
    expect(params.properties.a!.type).toBe("number");
    expect(params.required).toEqual(["a", "b"]);
  });

  it("drops the $schema draft marker from parameters, so every input kind gives the same prompt", () => {
    const fromZod = toToolDefinition({ name: "add", description: "Adds a and b", schema: adder });
    const fromJson = toToolDefinition({ name: "add", description: "Adds a and b", schema: adderJson });
    expect(adderJson.$schema).toBeDefined();
    expect(fromZod.function.parameters!.$schema).toBeUndefined();
    expect(fromJson).toEqual(fromZod);
  });

  it("takes a bare function definition and defaults missing parameters", () => {
    expect(toToolDefinition({ name: "ping", description: "no args" } as never, true)).toEqual({
      type: "function",
      function: { name: "ping", description: "no args", parameters: { type: "object", properties: {} }, strict: true },
    });
  });

  it("rejects what is not a tool", () => {
    expect(() => toToolDefinition({ description: "nameless" } as never)).toThrow(WenxinError);
  });
});

describe("toToolChoice", () => {
  it.each([
    [undefined, undefined],
    ["auto", "auto"],
    ["none", "none"],
    ["any", "required"],
    ["required", "required"],
    ["add", { name: "add" }],
    [{ type: "function", function: { name: "add" } }, { name: "add" }],
    [{ type: "tool", name: "add" }, { name: "add" }],
    [{ type: "any" }, "required"],
  ])("maps %j to %j", (input, expected) => {
    expect(toToolChoice(input as never)).toEqual(expected);
  });

  it("rejects an unknown choice object and writes OpenAI's wire form", () => {
    expect(() => toToolChoice({ mode: "weird" })).toThrow(WenxinError);
    expect(toOpenAIToolChoice({ name: "add" })).toEqual({ type: "function", function: { name: "add" } });
    expect(toOpenAIToolChoice("required")).toBe("required");
  });
});
