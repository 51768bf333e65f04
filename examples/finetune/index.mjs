// LoRA fine-tuning in Node: teach a model a fixed answer, save the adapter in PEFT's format, and
// chat with it (the base model, without the adapter, is unchanged).
//   node examples/finetune/index.mjs [MODEL_DIR] [OUT_DIR]
// Without arguments it trains the tiny random-weight model bundled for tests (a few seconds).
// The same from the command line:  wenxin finetune --model DIR --data train.jsonl --out DIR
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Engine } from "@wenxin/engine";

const here = path.dirname(fileURLToPath(import.meta.url));
const modelDir = process.argv[2] ?? path.join(here, "../../test/fixtures/ernie45/tiny-ernie45-dense");
const outDir = process.argv[3] ?? path.join(os.tmpdir(), "wenxin-finetune-example");

const question = [{ role: "user", content: "Who are you?" }];
const lesson = { messages: [...question, { role: "assistant", content: "I am ERNIE, fine-tuned in Node.js." }] };

const engine = await Engine.load(modelDir, { maxContext: 512 });
const trainer = await engine.createTrainer({
  lora: { r: 16, alpha: 32, targetModules: ["q_proj", "v_proj"] },
  optimizer: { lr: 5e-3, schedule: "constant" },
});
console.log(
  `LoRA on ${trainer.targets.length} projections: ${trainer.parameterCount.toLocaleString("en")} trainable values`,
);

for (let step = 1; step <= 30; step++) {
  const { loss, gradNorm } = await trainer.step([lesson]);
  if (step % 5 === 0) console.log(`step ${step}: loss ${loss.toFixed(4)}, gradient norm ${gradNorm.toFixed(3)}`);
}
await trainer.saveAdapter(outDir); // adapter_config.json + adapter_model.safetensors, as peft writes them
console.log(`adapter saved to ${outDir}\n`);

await engine.loadAdapter("lesson", outDir);
for (const adapter of ["lesson", undefined]) {
  const { text } = await engine.generate({ messages: question, maxNewTokens: 24, temperature: 0, adapter }).result();
  console.log(`${adapter ? "with the adapter" : "base model     "}: ${JSON.stringify(text)}`);
}
await engine.close();
