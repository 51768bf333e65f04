/**
 * The worker module behind `WenxinTokenizer.encodeAsync` (run by `JobThreads`): it builds its own
 * copy of the tokenizer from the JSON it is started with, then encodes texts one job at a time. A
 * job's texts are encoded in order until their tokens pass the job's limit; the ids go back as
 * transferred Int32Arrays.
 */
import { WenxinTokenizer } from "./tokenizer.js";

export interface EncodeJob {
  texts: string[];
  /** Stop after the first text that takes the total past this many tokens. */
  limit: number;
  addSpecialTokens: boolean;
}

export interface EncodeValue {
  ids: Int32Array[];
  tokens: number;
}

let tokenizer: WenxinTokenizer | undefined;

/** `spec`: `JSON.stringify({ json, config })` of the tokenizer to copy. */
export function init(spec: string): void {
  const { json, config } = JSON.parse(spec);
  tokenizer = WenxinTokenizer.fromJson(json, config);
}

export function handle(job: EncodeJob): EncodeValue {
  const ids: Int32Array[] = [];
  let tokens = 0;
  for (const text of job.texts) {
    const one = Int32Array.from(tokenizer!.encode(text, { addSpecialTokens: job.addSpecialTokens }));
    ids.push(one);
    tokens += one.length;
    if (tokens > job.limit) break;
  }
  return { ids, tokens };
}

export function transferOf(value: EncodeValue): ArrayBuffer[] {
  return value.ids.map((a) => a.buffer as ArrayBuffer);
}
