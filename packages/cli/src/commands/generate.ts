import { Engine } from "@wenxin/engine";

import { numberOption, parseCommandArgs, type Command } from "./command.js";
import { resolveModelSource } from "./model_source.js";

const USAGE = `Usage: wenxin generate --model DIR|ID (--prompt TEXT | --chat TEXT) [options]

Streams a completion of TEXT to stdout.

Options:
  --model DIR|FILE|ID    checkpoint directory, .gguf file, or hub id (org/name: pulled into the HF cache)
  --prompt TEXT          raw text, tokenized as is
  --chat TEXT            a user message, rendered with the model's chat template
  --system TEXT          a system message (with --chat)
  --max-new-tokens N     default 128
  --temperature T        0 = greedy; default from generation_config.json
  --top-k K  --top-p P  --min-p P  --repetition-penalty R  --seed S
  --stop TEXT            stop string (repeatable)
  --threads N            default: all CPUs
  --stats                print token counts and speed to stderr`;

export const generateCommand: Command = {
  summary: "generate text from a prompt or a chat message",
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        model: { type: "string" },
        prompt: { type: "string" },
        chat: { type: "string" },
        system: { type: "string" },
        "max-new-tokens": { type: "string" },
        temperature: { type: "string" },
        "top-k": { type: "string" },
        "top-p": { type: "string" },
        "min-p": { type: "string" },
        "repetition-penalty": { type: "string" },
        seed: { type: "string" },
        stop: { type: "string", multiple: true },
        threads: { type: "string" },
        stats: { type: "boolean" },
      },
      USAGE,
    );
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!values.model || (values.prompt === undefined) === (values.chat === undefined)) {
      console.error(`wenxin generate: give --model and exactly one of --prompt or --chat\n\n${USAGE}`);
      return 1;
    }
    const { path: model } = await resolveModelSource(values.model);
    const engine = await Engine.load(model, { threads: numberOption(values.threads, "threads") });
    try {
      const input =
        values.chat !== undefined
          ? {
              messages: [
                ...(values.system ? [{ role: "system" as const, content: values.system }] : []),
                { role: "user" as const, content: values.chat },
              ],
            }
          : { prompt: values.prompt! };
      const started = performance.now();
      const stream = engine.generate({
        ...input,
        maxNewTokens: numberOption(values["max-new-tokens"], "max-new-tokens") ?? 128,
        temperature: numberOption(values.temperature, "temperature"),
        topK: numberOption(values["top-k"], "top-k"),
        topP: numberOption(values["top-p"], "top-p"),
        minP: numberOption(values["min-p"], "min-p"),
        repetitionPenalty: numberOption(values["repetition-penalty"], "repetition-penalty"),
        seed: numberOption(values.seed, "seed"),
        stop: values.stop,
      });
      for await (const ev of stream) {
        if (ev.type === "token") process.stdout.write(ev.text);
        else {
          process.stdout.write("\n");
          if (values.stats) {
            const secs = (performance.now() - started) / 1000;
            console.error(
              `[${ev.promptTokens} prompt + ${ev.completionTokens} generated tokens, ${(ev.completionTokens / secs).toFixed(1)} tok/s, finish: ${ev.finishReason}]`,
            );
          }
        }
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
};
