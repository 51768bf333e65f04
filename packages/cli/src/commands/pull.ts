import { parseArgs } from "node:util";

import { ADAPTER_FILES, MODEL_FILES, resolvePretrained, type ProgressInfo } from "@wenxin/transformers";

import type { Command } from "./command.js";

const USAGE = `Usage: wenxin pull ORG/NAME [options]

Downloads a model (config, tokenizer, generation config, safetensors weights) from the Hugging Face
hub into the shared cache ($HF_HUB_CACHE, default ~/.cache/huggingface/hub), resuming interrupted
downloads, and prints the snapshot directory (usable as --model).

Options:
  --revision REV       branch, tag or commit (default main)
  --cache-dir DIR      cache root instead of HF_HUB_CACHE / $HF_HOME/hub
  --token TOKEN        hub token (default HF_TOKEN or the saved login)
  --adapter            fetch a PEFT LoRA adapter (adapter_config.json, adapter_model.safetensors)
  --quiet              no progress output`;

function size(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

/** One line per file: a bar redrawn in place on a terminal, the finished line elsewhere. */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): (info: ProgressInfo) => void {
  const tty = Boolean(stream.isTTY);
  let lastDraw = 0;
  let drawn: { file: string; loaded: number; total: number } | undefined;
  const line = (file: string, loaded: number, total: number) => {
    const width = 24;
    const filled = total > 0 ? Math.min(width, Math.round((width * loaded) / total)) : 0;
    const pct = total > 0 ? `${Math.floor((100 * loaded) / total)}%`.padStart(4) : "";
    return `${file.padEnd(36)} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${pct} ${size(loaded)}${total > 0 ? ` / ${size(total)}` : ""}`;
  };
  return (info) => {
    if (info.status === "progress") {
      drawn = { file: info.file, loaded: info.loaded, total: info.total };
      const now = Date.now();
      if (tty && (now - lastDraw > 100 || info.loaded === info.total)) {
        lastDraw = now;
        stream.write(`\r${line(info.file, info.loaded, info.total)}\x1b[K`);
      }
    } else if (info.status === "done") {
      const d = drawn?.file === info.file ? drawn : undefined;
      const text = d ? line(info.file, d.total || d.loaded, d.total || d.loaded) : `${info.file.padEnd(36)} (cached)`;
      stream.write(tty ? `\r${text}\x1b[K\n` : `${text}\n`);
      drawn = undefined;
    }
  };
}

export const pullCommand: Command = {
  summary: "download a model from the Hugging Face hub into the shared cache",
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        strict: true,
        options: {
          revision: { type: "string" },
          "cache-dir": { type: "string" },
          token: { type: "string" },
          adapter: { type: "boolean" },
          quiet: { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n\n${USAGE}`, { cause: err });
    }
    const { values, positionals } = parsed;
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length !== 1) {
      console.error(`wenxin pull: give one repository id\n\n${USAGE}`);
      return 1;
    }
    const location = await resolvePretrained(positionals[0]!, values.adapter ? ADAPTER_FILES : MODEL_FILES, {
      revision: values.revision,
      cache_dir: values["cache-dir"],
      token: values.token,
      progress_callback: values.quiet ? undefined : progressPrinter(),
    });
    console.log(location.dir);
    return 0;
  },
};
