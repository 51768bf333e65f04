// A short chat with an ERNIE 4.5 checkpoint, streamed token by token.
//   node examples/chat/index.mjs [MODEL_DIR]
// Without an argument it runs the tiny random-weight fixture model bundled for tests, so the
// replies are gibberish; point it at a real ERNIE-4.5-0.3B-PT directory for real answers.
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Engine } from "@wenxin/engine";

const here = path.dirname(fileURLToPath(import.meta.url));
const modelDir = process.argv[2] ?? path.join(here, "../../test/fixtures/ernie45/tiny-ernie45-dense");

const engine = await Engine.load(modelDir, { maxContext: 2048 });
console.log(`Loaded ${engine.config.architecture} from ${modelDir}`);
console.log(
  `  ${engine.config.hparams.numHiddenLayers} layers, hidden ${engine.config.hparams.hiddenSize}, vocab ${engine.config.hparams.vocabSize}\n`,
);

const messages = [{ role: "system", content: "You are a helpful assistant." }];
const turns = ["你好，介绍一下文心4.5", "What is a mixture-of-experts model?"];

for (const question of turns) {
  messages.push({ role: "user", content: question });
  process.stdout.write(`User: ${question}\nAssistant: `);
  const started = performance.now();
  let result;
  for await (const event of engine.generate({ messages, maxNewTokens: 32, temperature: 0.8, topP: 0.8, seed: 42 })) {
    if (event.type === "token") process.stdout.write(event.text);
    else result = event;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `\n  [${result.completionTokens} tokens, ${(result.completionTokens / seconds).toFixed(0)} tok/s, finish: ${result.finishReason}]\n`,
  );
  messages.push({ role: "assistant", content: result.text });
}

const [a, b] = await engine.embed(["文心大模型支持混合专家架构。", "ERNIE 4.5 is a mixture-of-experts model."]);
let cosine = 0;
for (let i = 0; i < a.length; i++) cosine += a[i] * b[i];
console.log(`Embedding size ${a.length}; cosine similarity of two sentences: ${cosine.toFixed(3)}`);

await engine.close();
