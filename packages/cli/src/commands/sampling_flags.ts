/** The sampling flags `generate` and `run` share: declared, documented and read in one place. */
import { numberOption } from "./command.js";

export const SAMPLING_FLAGS = {
  "max-new-tokens": { type: "string" },
  temperature: { type: "string" },
  "top-k": { type: "string" },
  "top-p": { type: "string" },
  "min-p": { type: "string" },
  "repetition-penalty": { type: "string" },
  seed: { type: "string" },
} as const;

/** The usage lines of SAMPLING_FLAGS; `maxNewTokens` is the command's default reply length. */
export function samplingUsage(maxNewTokens: number, what = "longest reply"): string {
  return `  --max-new-tokens N     ${what} (default ${maxNewTokens})
  --temperature T        0 = greedy; default from generation_config.json
  --top-k K  --top-p P  --min-p P  --repetition-penalty R  --seed S`;
}

/** The engine's sampling options from the parsed flags. */
export function samplingFromFlags(values: Record<string, unknown>, maxNewTokens: number) {
  return {
    maxNewTokens: numberOption(values["max-new-tokens"], "max-new-tokens") ?? maxNewTokens,
    temperature: numberOption(values.temperature, "temperature"),
    topK: numberOption(values["top-k"], "top-k"),
    topP: numberOption(values["top-p"], "top-p"),
    minP: numberOption(values["min-p"], "min-p"),
    repetitionPenalty: numberOption(values["repetition-penalty"], "repetition-penalty"),
    seed: numberOption(values.seed, "seed"),
  };
}
