import { quantizeModel } from "@wenxin/engine";
import { parseOrThrow, quantizeOptionsSchema, withProgress } from "@wenxin/engine/internal";

import { numberOption, parseCommandArgs, type Command } from "./command.js";

const USAGE = `Usage: wenxin quantize DIR --to q8|q4|fp8 --out DIR [--threads N]

Writes a copy of the checkpoint in DIR with its matrices quantized (one model.safetensors; tokenizer
and other files copied). Loading the output maps the quantized matrices instead of quantizing again.

  q8    int8, blocks of 32 with fp16 scales (8.5 bits per weight)
  q4    int4, blocks of 32 with fp16 scales (4.5 bits per weight)
  fp8   e4m3 with a float scale per row`;

export const quantizeCommand: Command = {
  summary: "save a quantized copy of a checkpoint (q8, q4, fp8)",
  async run(argv) {
    const dir = argv[0] && !argv[0].startsWith("-") ? argv[0] : undefined;
    const { values } = parseCommandArgs(
      dir ? argv.slice(1) : argv,
      { to: { type: "string" }, out: { type: "string" }, threads: { type: "string" } },
      USAGE,
    );
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!dir || !values.to || !values.out) {
      console.error(`wenxin quantize: give DIR, --to and --out\n\n${USAGE}`);
      return 1;
    }
    const weights = parseOrThrow(quantizeOptionsSchema.shape.weights, values.to, "--to");
    const started = performance.now();
    await withProgress(`quantizing ${dir} to ${weights}`, () =>
      quantizeModel(dir, values.out!, {
        weights,
        threads: numberOption(values.threads, "threads"),
      }),
    );
    console.log(`wrote ${values.out} (${weights}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  },
};
