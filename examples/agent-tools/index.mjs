// A LangChain agent (createAgent from `langchain`) with two tools, on ChatWenxin in this process.
//   node examples/agent-tools/index.mjs [MODEL_DIR]
// The first model call is forced to call `get_current_time` (a middleware sets tool_choice), so
// the run is the same on any model; after that the model decides. On the bundled tiny
// random-weight model the later replies are gibberish; use an ERNIE 4.5 checkpoint for real ones.
import path from "node:path";
import { fileURLToPath } from "node:url";

import { ToolMessage } from "@langchain/core/messages";
import { ChatWenxin, closeSharedEngines } from "@wenxin/langchain";
import { createAgent, createMiddleware, tool } from "langchain";
import { z } from "zod";

const here = path.dirname(fileURLToPath(import.meta.url));
const modelDir = process.argv[2] ?? path.join(here, "../../test/fixtures/ernie45/tiny-ernie45-dense");

const getCurrentTime = tool(async () => new Date().toISOString(), {
  name: "get_current_time",
  description: "The current date and time, ISO 8601 (UTC).",
  schema: z.object({}),
});

const getWeather = tool(async ({ city }) => `It is 23°C and sunny in ${city}.`, {
  name: "get_weather",
  description: "The current weather in a city.",
  schema: z.object({ city: z.string().describe("The city, e.g. Beijing") }),
});

// Until the agent has a tool result, the model must call get_current_time.
const forceFirstToolCall = createMiddleware({
  name: "ForceFirstToolCall",
  wrapModelCall: (request, handler) => {
    const hasToolResult = request.messages.some((m) => ToolMessage.isInstance(m));
    return handler(
      hasToolResult
        ? request
        : { ...request, toolChoice: { type: "function", function: { name: "get_current_time" } } },
    );
  },
});

const model = new ChatWenxin({
  model: modelDir,
  temperature: 0.7,
  topP: 0.8,
  seed: 7,
  maxTokens: 64,
  load: { maxContext: 4096 },
});
const agent = createAgent({
  model,
  tools: [getCurrentTime, getWeather],
  middleware: [forceFirstToolCall],
  systemPrompt: "You are a helpful assistant. Use the tools when they help.",
});

const question = "What time is it now, and what is the weather in Beijing?";
console.log(`User: ${question}\n`);
const { messages } = await agent.invoke({ messages: [{ role: "user", content: question }] }, { recursionLimit: 8 });

for (const m of messages.slice(1)) {
  if (m.type === "ai") {
    for (const call of m.tool_calls ?? [])
      console.log(`Assistant → ${call.name}(${JSON.stringify(call.args)})  [${call.id}]`);
    for (const bad of m.invalid_tool_calls ?? [])
      console.log(`Assistant → invalid call of ${bad.name ?? "?"}: ${bad.error}`);
    if (m.text) console.log(`Assistant: ${m.text}`);
    console.log(
      `  (${m.usage_metadata?.input_tokens} prompt + ${m.usage_metadata?.output_tokens} generated tokens, ${m.response_metadata.finish_reason})`,
    );
  } else if (m.type === "tool") {
    console.log(`Tool ${m.name}: ${m.content}`);
  }
}

await closeSharedEngines();
