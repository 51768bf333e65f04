// prompt template | ChatWenxin | output parser, with ERNIE 4.5 running in this process.
//   node examples/langchain-chat/index.mjs [MODEL_DIR]
// Without an argument it runs the tiny random-weight model bundled for tests, so the replies are
// gibberish; point it at an ERNIE-4.5-0.3B-PT directory for real answers.
import path from "node:path";
import { fileURLToPath } from "node:url";

import { StringOutputParser } from "@langchain/core/output_parsers";
import { ChatPromptTemplate } from "@langchain/core/prompts";
import { ChatWenxin, closeSharedEngines } from "@wenxin/langchain";

const here = path.dirname(fileURLToPath(import.meta.url));
const modelDir = process.argv[2] ?? path.join(here, "../../test/fixtures/ernie45/tiny-ernie45-dense");

// The engine loads on first use; every ChatWenxin naming this directory shares it.
const model = new ChatWenxin({
  model: modelDir,
  temperature: 0.8,
  topP: 0.8,
  repetitionPenalty: 1.2,
  seed: 42,
  maxTokens: 48,
  load: { maxContext: 2048 },
});
const prompt = ChatPromptTemplate.fromMessages([
  ["system", "You are a concise assistant. Answer in {language}."],
  ["human", "{question}"],
]);
const chain = prompt.pipe(model).pipe(new StringOutputParser());

// 1. Streamed, token by token.
console.log(`Model: ${modelDir}\n`);
process.stdout.write("Q: What is a mixture-of-experts model?\nA: ");
for await (const piece of await chain.stream({ language: "English", question: "What is a mixture-of-experts model?" }))
  process.stdout.write(piece);
console.log("\n");

// 2. The whole message, with token usage and response metadata.
const message = await prompt.pipe(model).invoke({ language: "中文", question: "介绍一下文心4.5" });
console.log(`Q: 介绍一下文心4.5\nA: ${message.content}`);
console.log(`   usage: ${JSON.stringify(message.usage_metadata)}`);
console.log(`   finish: ${message.response_metadata.finish_reason}, model: ${message.response_metadata.model}\n`);

// 3. A batch: the engine steps all requests together (continuous batching).
const questions = ["Name a colour.", "Count to three.", "Say hello."];
const started = performance.now();
const answers = await chain.batch(questions.map((question) => ({ language: "English", question })));
const seconds = (performance.now() - started) / 1000;
questions.forEach((q, i) => console.log(`Q: ${q}\nA: ${answers[i]}\n`));
console.log(`${questions.length} answers in ${seconds.toFixed(2)} s`);

await closeSharedEngines();
