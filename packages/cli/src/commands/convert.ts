import {
  convertToGgufOptionsSchema,
  parseOrThrow,
  prepareGgufConversion,
  readGgufFile,
  withProgress,
  writeGguf,
} from "@wenxin/engine/internal";

import { parseCommandArgs, type Command } from "./command.js";

const USAGE = `Usage: wenxin convert DIR --to gguf --out FILE [--type f32|f16|q8_0|q4_0] [--name NAME]

Writes the Hugging Face ERNIE 4.5 checkpoint in DIR as one GGUF file, laid out as llama.cpp's
converter writes it (architecture ernie4_5 or ernie4_5-moe), with the tokenizer (from tokenizer.model,
else tokenizer.json) and the chat template in its metadata. llama.cpp (and node-llama-cpp) load the
result; so does wenxin.js: Engine.load("FILE.gguf").

Options:
  --to gguf      the output format (GGUF is the only one)
  --out FILE     the .gguf file to write
  --type T       type of the weight matrices (default f16):
                   f32    exact for bf16 checkpoints
                   f16    half the size; exact for typical bf16 weights
                   q8_0   8.5 bits per weight (blocks of 32, fp16 scale), the engine's own q8 blocks
                   q4_0   4.5 bits per weight; embedding and LM head stay q8_0
                 Norms, the MoE router and its bias are always f32.
  --name NAME    general.name (default: the directory name)`;

export const convertCommand: Command = {
  summary: "convert a checkpoint to GGUF (for llama.cpp, or to load as one file)",
  async run(argv) {
    const dir = argv[0] && !argv[0].startsWith("-") ? argv[0] : undefined;
    const { values } = parseCommandArgs(
      dir ? argv.slice(1) : argv,
      { to: { type: "string" }, out: { type: "string" }, type: { type: "string" }, name: { type: "string" } },
      USAGE,
    );
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!dir || !values.out || values.to === undefined) {
      console.error(`wenxin convert: give DIR, --to gguf and --out FILE\n\n${USAGE}`);
      return 1;
    }
    if (values.to !== "gguf") {
      console.error(`wenxin convert: --to must be gguf, got '${values.to}'\n\n${USAGE}`);
      return 1;
    }
    const type = values.type ?? "f16";
    if (!["f32", "f16", "q8_0", "q4_0"].includes(type)) {
      console.error(`wenxin convert: --type must be f32, f16, q8_0 or q4_0, got '${type}'\n\n${USAGE}`);
      return 1;
    }
    const started = performance.now();
    const opts = parseOrThrow(convertToGgufOptionsSchema, { out: values.out, type, name: values.name }, "convert");
    const { metadata, tensors: plan } = await prepareGgufConversion(dir, opts.type, opts.name);
    // convertToGguf's two steps, with each tensor counted on the progress line as it is written
    await withProgress(`converting ${dir} to GGUF ${type}`, (line) => {
      let written = 0;
      const counted = plan.map((t) => ({
        ...t,
        values: () => {
          const v = t.values();
          line.update(++written, plan.length, "tensors");
          return v;
        },
      }));
      writeGguf(opts.out, metadata, counted);
    });
    const file = opts.out;
    const tensors = plan.length;
    const size = readGgufFile(file).fileSize;
    console.log(
      `wrote ${file} (${type}, ${tensors} tensors, ${(size / 2 ** 20).toFixed(1)} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return 0;
  },
};
