import { Engine } from "@wenxin/engine";
import { withProgress } from "@wenxin/engine/internal";

import { numberOption, parseCommandArgs, type Command } from "./command.js";
import { resolveModelSource } from "./model_source.js";
import { SAMPLING_FLAGS, samplingFromFlags, samplingUsage } from "./sampling_flags.js";

const MAX_NEW_TOKENS = 128;

const USAGE = `Usage: wenxin generate --model DIR|ID (--prompt TEXT | --chat TEXT) [options]

Streams a completion of TEXT to stdout.

Options:
  --model DIR|FILE|ID    checkpoint directory, .gguf file, or hub id (org/name: pulled into the HF cache)
  --prompt TEXT          raw text, tokenized as is
  --chat TEXT            a user message, rendered with the model's chat template
  --system TEXT          a system message (with --chat)
${samplingUsage(MAX_NEW_TOKENS, "longest completion")}
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
        ...SAMPLING_FLAGS,
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
    const threads = numberOption(values.threads, "threads");
    const engine = await withProgress(`loading ${values.model}`, () => Engine.load(model, { threads }));
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
        ...samplingFromFlags(values, MAX_NEW_TOKENS),
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
