// Retrains the demo's adapter from finetune.jsonl with `wenxin finetune` (seconds on two cores):
//   node examples/chat/train-adapter.mjs [OUT_DIR]        (default: examples/chat/adapter)
// The tiny model answers the demo's two questions from what this LoRA adapter learned.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const TINY_MODEL = path.join(here, "../../test/fixtures/ernie45/tiny-ernie45-dense");
export const ADAPTER = path.join(here, "adapter");
export const CLI = path.join(here, "../../packages/cli/dist/index.js");
// prettier-ignore
export const FINETUNE_ARGS = [
  "finetune", "--model", TINY_MODEL, "--data", path.join(here, "finetune.jsonl"),
  "--r", "16", "--alpha", "32", "--target", "q_proj,v_proj",
  "--epochs", "30", "--batch", "2", "--lr", "5e-3", "--seed", "0", "--save-total-limit", "0",
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const child = spawn(process.execPath, [CLI, ...FINETUNE_ARGS, "--out", process.argv[2] ?? ADAPTER], {
    stdio: "inherit",
  });
  child.on("exit", (code) => process.exit(code ?? 1));
}
