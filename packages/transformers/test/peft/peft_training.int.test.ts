// LoRA training with peft's and transformers' names: PeftModelForCausalLM.from_pretrained(…,
// { is_trainable: true }) + Trainer reproduce the dense-qv golden's three steps; get_peft_model +
// Trainer teach the tiny model an answer, which generate() gives with the live weights and a
// PeftModel loaded from save_pretrained gives too.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  AutoModelForCausalLM,
  AutoTokenizer,
  LoraConfig,
  PeftModel,
  PeftModelForCausalLM,
  Trainer,
  TrainingArguments,
  get_peft_model,
  type PreTrainedModel,
} from "../../src/index.js";
import { DENSE_DIR, loadFinetuneCase } from "../../../../test/helpers/fixtures.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "wenxin-peft-train-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const LOAD = { engine_options: { threads: 2, maxContext: 512 } };

describe("LoRA training, transformers-style", () => {
  let model: PreTrainedModel;
  beforeAll(async () => {
    model = await AutoModelForCausalLM.from_pretrained(DENSE_DIR, LOAD);
  });
  afterAll(() => model?.dispose());

  it("Trainer on a peft adapter loaded with is_trainable reproduces the dense-qv golden's steps", async () => {
    const golden = loadFinetuneCase("dense-qv");
    const g = golden.json;
    const peft = await PeftModelForCausalLM.from_pretrained(model, path.join(golden.dir, "adapter-initial"), {
      is_trainable: true,
    });
    const trainer = new Trainer({
      model: peft,
      args: new TrainingArguments({
        output_dir: path.join(tmp, "golden"),
        num_train_epochs: 3,
        per_device_train_batch_size: 3,
        learning_rate: g.optimizer.lr,
        weight_decay: g.optimizer.weight_decay,
        max_grad_norm: g.optimizer.max_grad_norm,
        lr_scheduler_type: "constant",
        save_strategy: "no",
        logging_steps: 100,
      }),
      train_dataset: g.examples.map((e) => ({ input_ids: e.input_ids, labels: e.labels })),
    });
    const out = await trainer.train();
    expect(out.global_step).toBe(3);
    trainer.state.log_history.forEach((h, s) => {
      expect(Math.abs(h.loss - g.losses[s]!) / g.losses[s]!).toBeLessThan(1e-4);
      expect(Math.abs(h.grad_norm - g.grad_norms_before_clip[s]!) / g.grad_norms_before_clip[s]!).toBeLessThan(1e-4);
    });
  });

  it("get_peft_model + Trainer teach an answer that generate() and a reloaded PeftModel give", async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(DENSE_DIR);
    const peft = await get_peft_model(
      model,
      new LoraConfig({ r: 16, lora_alpha: 32, target_modules: ["q_proj", "v_proj"] }),
    );
    const [trainable, all] = peft.get_nb_trainable_parameters();
    expect(trainable).toBe(4 * (16 * 128 + 256 * 16 + 16 * 128 + 64 * 16));
    expect(all).toBeGreaterThan(1e6);
    const conversation = [
      { role: "user" as const, content: "你是谁？" },
      { role: "assistant" as const, content: "我是文心。" },
    ];
    const outputDir = path.join(tmp, "taught");
    const trainer = new Trainer({
      model: peft,
      args: new TrainingArguments({
        output_dir: outputDir,
        num_train_epochs: 25,
        per_device_train_batch_size: 1,
        learning_rate: 5e-3,
        lr_scheduler_type: "constant",
        save_strategy: "no",
        logging_steps: 100,
      }),
      train_dataset: [{ messages: conversation }],
      eval_dataset: [{ messages: conversation }],
    });
    await trainer.train();
    expect((await trainer.evaluate()).eval_loss).toBeLessThan(0.05);
    const prompt = tokenizer.apply_chat_template([conversation[0]], {
      tokenize: true,
      add_generation_prompt: true,
      return_dict: false,
      return_tensor: false,
    });
    const answer = async (m: { generate_ids: PeftModelForCausalLM["generate_ids"] }) =>
      tokenizer.decode(
        (await m.generate_ids(prompt, { max_new_tokens: 8, do_sample: false }))[0]!.slice(prompt.length),
        {
          skip_special_tokens: true,
        },
      );
    expect(await answer(peft)).toBe("我是文心。");
    await peft.dispose();
    const reloaded = await PeftModel.from_pretrained(model, outputDir);
    expect(await answer(reloaded)).toBe("我是文心。");
  });
});
