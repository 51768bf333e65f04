// A Vercel AI SDK agent (ToolLoopAgent from `ai`) with two tools, on ERNIE 4.5 in this process,
// then a structured answer from generateObject.
//   node examples/ai-sdk-agent/index.mjs [MODEL_DIR]
// The first step is forced to call `get_weather` (prepareStep sets toolChoice), so the run is the
// same on any model; after that the model decides. Tool arguments and the object are constrained
// by the engine's grammar, so they are valid even on the bundled tiny random-weight model, whose
// text is gibberish; use an ERNIE 4.5 checkpoint for real answers.
import path from "node:path";
import { fileURLToPath } from "node:url";

import { createWenxin } from "@wenxin/ai-sdk";
import { generateObject, stepCountIs, tool, ToolLoopAgent } from "ai";
import { z } from "zod";

const here = path.dirname(fileURLToPath(import.meta.url));
const modelDir = process.argv[2] ?? path.join(here, "../../test/fixtures/ernie45/tiny-ernie45-dense");

const wenxin = createWenxin({ maxContext: 4096 });
const model = wenxin(modelDir);

const agent = new ToolLoopAgent({
  model,
  instructions: "You are a helpful assistant. Use the tools when they help.",
  tools: {
    get_weather: tool({
      description: "The current weather in a city.",
      inputSchema: z.object({ city: z.string().max(40).describe("The city, e.g. Beijing") }),
      execute: async ({ city }) => `It is 23°C and sunny in ${city}.`,
    }),
    get_current_time: tool({
      description: "The current date and time, ISO 8601 (UTC).",
      inputSchema: z.object({}),
      execute: async () => new Date().toISOString(),
    }),
  },
  // Until the agent has a tool result, the model must call get_weather.
  prepareStep: ({ stepNumber }) =>
    stepNumber === 0 ? { toolChoice: { type: "tool", toolName: "get_weather" } } : undefined,
  stopWhen: stepCountIs(3),
  temperature: 0.7,
  topP: 0.8,
  seed: 7,
  maxOutputTokens: 64,
});

const question = "What is the weather in Beijing, and what time is it?";
console.log(`User: ${question}\n`);
const result = await agent.stream({ prompt: question });
for await (const part of result.fullStream) {
  if (part.type === "tool-call")
    console.log(`Assistant → ${part.toolName}(${JSON.stringify(part.input)})  [${part.toolCallId}]`);
  else if (part.type === "tool-result") console.log(`Tool ${part.toolName}: ${part.output}`);
  else if (part.type === "tool-error") console.log(`Tool ${part.toolName} failed: ${part.error}`);
  else if (part.type === "text-start") process.stdout.write("Assistant: ");
  else if (part.type === "text-delta") process.stdout.write(part.text);
  else if (part.type === "text-end") process.stdout.write("\n");
  else if (part.type === "finish-step") {
    const timings = part.providerMetadata?.wenxin;
    console.log(
      `  (${part.usage.inputTokens} prompt + ${part.usage.outputTokens} generated tokens, ${part.finishReason}, first token after ${timings?.timeToFirstTokenMs} ms)`,
    );
  }
}
console.log(`\n${(await result.steps).length} steps.`);

// A structured answer: the reply is constrained to the schema, so it always parses and validates.
const { object } = await generateObject({
  model,
  schema: z.object({
    city: z.string().max(40),
    temperatureC: z.number().int().min(-60).max(60),
    conditions: z.enum(["sunny", "cloudy", "rain", "snow"]),
  }),
  prompt: `Summarize as a weather record: ${question} It is 23°C and sunny in Beijing.`,
  temperature: 0.7,
  seed: 7,
  maxOutputTokens: 64,
});
console.log(`Weather record: ${JSON.stringify(object)}`);

await wenxin.close();
