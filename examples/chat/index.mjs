// A short chat with an ERNIE 4.5 checkpoint, streamed token by token.
//   node examples/chat/index.mjs [MODEL_DIR]
// Without an argument it runs the tiny random-weight model bundled for tests with the small LoRA
// adapter in ./adapter, which `wenxin finetune` trained on ./finetune.jsonl (train-adapter.mjs
// retrains it): the tiny model knows just these two answers. Point it at a real
// ERNIE-4.5-0.3B-PT directory for a real model.
import { Engine } from "@wenxin/engine";

import { converse } from "./conversation.mjs";
import { ADAPTER, TINY_MODEL } from "./train-adapter.mjs";

const modelDir = process.argv[2] ?? TINY_MODEL;
const engine = await Engine.load(modelDir, { maxContext: 2048 });
console.log(`Loaded ${engine.config.architecture} from ${modelDir}`);
console.log(
  `  ${engine.config.hparams.numHiddenLayers} layers, hidden ${engine.config.hparams.hiddenSize}, vocab ${engine.config.hparams.vocabSize}`,
);
let adapter;
if (process.argv[2] === undefined) {
  await engine.loadAdapter("demo", ADAPTER);
  adapter = "demo";
  console.log(`  with the LoRA adapter ${ADAPTER} (trained by wenxin finetune on finetune.jsonl)`);
}
console.log();

let started = 0;
await converse(engine, {
  adapter,
  onEvent(question, event) {
    if (event.type === "token") {
      if (!started) {
        process.stdout.write(`User: ${question}\nAssistant: `);
        started = performance.now();
      }
      process.stdout.write(event.text);
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `\n  [${event.completionTokens} tokens, ${(event.completionTokens / seconds).toFixed(0)} tok/s, finish: ${event.finishReason}]\n`,
    );
    started = 0;
  },
});

const [a, b] = await engine.embed(["文心大模型支持混合专家架构。", "ERNIE 4.5 is a mixture-of-experts model."]);
let cosine = 0;
for (let i = 0; i < a.length; i++) cosine += a[i] * b[i];
console.log(`Embedding size ${a.length}; cosine similarity of two sentences: ${cosine.toFixed(3)}`);

await engine.close();
