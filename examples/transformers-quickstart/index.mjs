// The ERNIE 4.5 model card's example in TypeScript's shape, then streamers, pipelines and LoRA.
//   node examples/transformers-quickstart/index.mjs [MODEL]
// MODEL is a checkpoint directory or a hub id such as baidu/ERNIE-4.5-0.3B-PT (downloaded into the
// Hugging Face cache). Without it the tiny random-weight fixture model runs, so replies are gibberish.
import path from "node:path";
import { fileURLToPath } from "node:url";

import {
  AutoModelForCausalLM,
  AutoTokenizer,
  TextIteratorStreamer,
  loadLoraAdapter,
  mergeAdapterIntoCheckpoint,
  pipeline,
} from "@wenxin/transformers";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, "../../test/fixtures/ernie45");
const modelName = process.argv[2] ?? path.join(fixtures, "tiny-ernie45-dense");

// Progress of hub downloads (nothing to download for a local directory).
const progress_callback = (e) => {
  if (e.status === "done") console.log(`  fetched ${e.file}`);
};

// 1. The model card, line for line.
const tokenizer = await AutoTokenizer.from_pretrained(modelName, { progress_callback });
const model = await AutoModelForCausalLM.from_pretrained(modelName, {
  progress_callback,
  engine_options: { maxContext: 2048 },
});
console.log(`${model.constructor.name} (${model.config.num_hidden_layers} layers) from ${modelName}\n`);

const messages = [{ role: "user", content: "Give me a short introduction to large language model." }];
const inputs = tokenizer.apply_chat_template(messages, { add_generation_prompt: true, return_dict: true });
const generated = await model.generate({ ...inputs, max_new_tokens: 32, seed: 42 });
const [reply] = tokenizer.batch_decode(generated.slice(null, [inputs.input_ids.dims[1], null]), {
  skip_special_tokens: true,
});
console.log("generate:", reply, "\n");

// 2. Streaming with an async iterator.
const streamer = new TextIteratorStreamer(tokenizer, { skip_prompt: true, skip_special_tokens: true });
const done = model.generate(inputs, { max_new_tokens: 32, do_sample: false, streamer });
process.stdout.write("streamed: ");
for await (const piece of streamer) process.stdout.write(piece);
await done;
console.log("\n");

// 3. Pipelines on the loaded model: chat messages in, chat messages out; and embeddings.
const generator = await pipeline("text-generation", model);
const [chat] = await generator([{ role: "user", content: "你好，介绍一下文心4.5" }], {
  max_new_tokens: 24,
  do_sample: false,
});
console.log("pipeline:", chat.generated_text.at(-1));
const extractor = await pipeline("feature-extraction", model);
const vectors = await extractor(["文心大模型支持混合专家架构。", "ERNIE 4.5 is a mixture-of-experts model."], {
  pooling: "mean",
  normalize: true,
});
const [a, b] = vectors.tolist();
console.log(`embeddings ${vectors.dims.join("×")}, cosine ${a.reduce((s, x, i) => s + x * b[i], 0).toFixed(3)}\n`);

// 4. A LoRA adapter merged into a copy of the checkpoint (PeftModel applies it unmerged where the
//    engine build supports adapters). The bundled adapter fits only the bundled tiny model.
if (process.argv[2] === undefined) {
  const adapter = await loadLoraAdapter(path.join(fixtures, "tiny-ernie45-dense-lora"), model.config.engineConfig);
  console.log(`LoRA: ${adapter.modules.length} layers, r=${adapter.config.r}, scaling ${adapter.modules[0].scaling}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), "wenxin-merged-"));
  await rm(dir, { recursive: true });
  await mergeAdapterIntoCheckpoint(model.engine.dir, adapter, dir);
  const merged = await AutoModelForCausalLM.from_pretrained(dir);
  const [withLora] = await merged.generate_ids(inputs, { max_new_tokens: 16, do_sample: false });
  console.log(
    "with the adapter:",
    tokenizer.decode(withLora.slice(inputs.input_ids.dims[1]), { skip_special_tokens: true }),
  );
  await merged.dispose();
  await rm(dir, { recursive: true, force: true });
}

await model.dispose();
