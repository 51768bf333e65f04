/**
 * Token ids → chat output text for `ChatOutputParser`. The chat markers (`<think>`,
 * `<tool_call>`, …) are special tokens, which a plain decode skips; here they stay in the text,
 * while every other special token (end-of-turn and the like) is dropped.
 */
import { IncrementalDecoder } from "../tokenizer/incremental_decoder.js";
import type { WenxinTokenizer } from "../tokenizer/tokenizer.js";

/** The markup tokens of ERNIE's chat output. */
export const CHAT_MARKUP_TOKENS = [
  "<think>",
  "</think>",
  "<response>",
  "</response>",
  "<tool_call>",
  "</tool_call>",
] as const;

export class ChatTokenDecoder {
  private readonly decoder: IncrementalDecoder;
  private readonly dropIds: ReadonlySet<number>;

  constructor(tokenizer: WenxinTokenizer) {
    this.decoder = new IncrementalDecoder(tokenizer, { skipSpecialTokens: false });
    const markup = new Set<number>();
    for (const t of CHAT_MARKUP_TOKENS) {
      const id = tokenizer.tokenToId(t);
      if (id !== undefined) markup.add(id);
    }
    this.dropIds = new Set([...tokenizer.allSpecialIds].filter((id) => !markup.has(id)));
  }

  /** Adds generated ids; returns the text they completed. */
  push(ids: ArrayLike<number>): string {
    const kept = Array.from(ids).filter((id) => !this.dropIds.has(id));
    return kept.length > 0 ? this.decoder.push(kept) : "";
  }

  /** Emits whatever is held back (an incomplete UTF-8 tail). */
  flush(): string {
    return this.decoder.flush();
  }
}
