/**
 * The worker thread behind `WenxinTokenizer.encodeAsync`: it builds its own copy of the tokenizer
 * from the JSON it is sent first, then encodes texts one job at a time. A job's texts are encoded
 * in order until their tokens pass the job's limit; the ids go back as transferred Int32Arrays.
 */
import { parentPort } from "node:worker_threads";

import { WenxinError } from "../errors.js";
import { WenxinTokenizer } from "./tokenizer.js";

export interface TokenizerInit {
  /** `JSON.stringify({ json, config })` of the tokenizer to copy. */
  spec: string;
}

export interface EncodeJob {
  id: number;
  texts: string[];
  /** Stop after the first text that takes the total past this many tokens. */
  limit: number;
  addSpecialTokens: boolean;
}

export type EncodeReply =
  | { id: number; ok: true; ids: Int32Array[]; tokens: number }
  | { id: number; ok: false; code: string; message: string };

let tokenizer: WenxinTokenizer | undefined;

parentPort?.on("message", (msg: TokenizerInit | EncodeJob) => {
  if ("spec" in msg) {
    const { json, config } = JSON.parse(msg.spec);
    tokenizer = WenxinTokenizer.fromJson(json, config);
    return;
  }
  let reply: EncodeReply;
  try {
    const ids: Int32Array[] = [];
    let tokens = 0;
    for (const text of msg.texts) {
      const one = Int32Array.from(tokenizer!.encode(text, { addSpecialTokens: msg.addSpecialTokens }));
      ids.push(one);
      tokens += one.length;
      if (tokens > msg.limit) break;
    }
    reply = { id: msg.id, ok: true, ids, tokens };
  } catch (err) {
    reply =
      err instanceof WenxinError
        ? { id: msg.id, ok: false, code: err.code, message: err.message }
        : { id: msg.id, ok: false, code: "ERR_WENXIN_TOKENIZER", message: String((err as Error)?.message ?? err) };
  }
  parentPort!.postMessage(reply, reply.ok ? reply.ids.map((a) => a.buffer as ArrayBuffer) : []);
});
