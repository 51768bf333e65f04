/**
 * Training examples: token ids with HF-style labels (−100 where no loss is taken), encoded from
 * the three row shapes datasets use, by the rules the finetune goldens were made with:
 * - `{ messages }`: the loss is on the last assistant turn. prompt = the chat template of all
 *   messages but the last, with the generation prompt; completion = its content + the template's
 *   end-of-turn token (`<|end_of_sentence|>`); each tokenized without special tokens, concatenated.
 * - `{ prompt, completion }`: raw text, no template; the loss is on the completion, which gets the
 *   end-of-sequence token appended (TRL's convention).
 * - `{ text }`: language modelling on all of it, end-of-sequence appended.
 * Too long an example keeps its first `maxLength` tokens (TRL's default); one whose labels are
 * all cut off is dropped.
 */
import { z } from "zod";

import type { ChatMessage } from "../chat/chat_template.js";
import { WenxinError } from "../errors.js";

export interface TrainingExample {
  inputIds: ArrayLike<number>;
  /** Per token; −100 takes no loss. Default: every token's own id (language modelling on all). */
  labels?: ArrayLike<number>;
}

/** transformers' padded batch: rows of equal length, attention_mask 0 on the (right) padding. */
export interface PaddedBatch {
  inputIds: number[][];
  attentionMask?: number[][];
  labels?: number[][];
}

const messageSchema = z
  .object({ role: z.enum(["system", "user", "assistant", "tool"]), content: z.string() })
  .passthrough();

export const trainingRowSchema = z.union([
  z.object({ messages: z.array(messageSchema).min(1) }).passthrough(),
  z.object({ prompt: z.string(), completion: z.string() }).passthrough(),
  z.object({ text: z.string() }).passthrough(),
]);

export type TrainingRow = z.infer<typeof trainingRowSchema>;

/** What encoding needs of the model: its tokenizer, chat template and end tokens. */
export interface ExampleEncoder {
  encode(text: string): number[];
  /** The chat template of `messages` with the generation prompt. */
  renderPrompt(messages: ChatMessage[]): string;
  /** The template's end-of-turn token text, appended to a chat completion. */
  endOfTurn: string;
  /** Appended to plain completions and texts. */
  eosTokenId: number;
}

function invalid(message: string, subject: string): WenxinError {
  return new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", message, { subject });
}

/** Prompt ids (no loss) and completion ids (loss) of one row. */
export function encodeRow(row: TrainingRow, enc: ExampleEncoder): { prompt: number[]; completion: number[] } {
  if ("messages" in row) {
    const messages = row.messages as ChatMessage[];
    const last = messages[messages.length - 1]!;
    if (last.role !== "assistant")
      throw invalid(`the last message is '${last.role}': the loss is taken on a final assistant message`, "messages");
    return {
      prompt: enc.encode(enc.renderPrompt(messages.slice(0, -1))),
      completion: enc.encode(last.content + enc.endOfTurn),
    };
  }
  if ("prompt" in row) {
    const { prompt, completion } = row as { prompt: string; completion: string };
    return { prompt: enc.encode(prompt), completion: [...enc.encode(completion), enc.eosTokenId] };
  }
  return { prompt: [], completion: [...enc.encode((row as { text: string }).text), enc.eosTokenId] };
}

export interface EncodedExample {
  inputIds: number[];
  labels: number[];
  /** Tokens cut off by maxLength. */
  truncated: number;
}

/** Ids and labels of a row, cut to `maxLength` tokens; undefined when no labelled token survives. */
export function encodeExample(row: TrainingRow, enc: ExampleEncoder, maxLength?: number): EncodedExample | undefined {
  const { prompt, completion } = encodeRow(row, enc);
  const ids = [...prompt, ...completion];
  const labels = [...prompt.map(() => -100), ...completion];
  const keep = maxLength === undefined ? ids.length : Math.min(ids.length, maxLength);
  // The first token's label is never used (logits[t] predict labels[t + 1]).
  if (!labels.slice(1, keep).some((l) => l !== -100)) return undefined;
  return { inputIds: ids.slice(0, keep), labels: labels.slice(0, keep), truncated: ids.length - keep };
}

/** The sequences of a right-padded batch without their padding (attention_mask 0). */
export function unpadBatch(batch: PaddedBatch): TrainingExample[] {
  return batch.inputIds.map((ids, i) => {
    const mask = batch.attentionMask?.[i];
    let len = ids.length;
    if (mask) {
      if (mask.length !== ids.length)
        throw invalid(`attentionMask[${i}] has ${mask.length} entries for ${ids.length} tokens`, `attentionMask[${i}]`);
      len = mask.indexOf(0) < 0 ? ids.length : mask.indexOf(0);
      if (mask.slice(len).some((m) => m !== 0))
        throw invalid(`attentionMask[${i}] is not right-padded (a 1 after a 0)`, `attentionMask[${i}]`);
    }
    const labels = batch.labels?.[i];
    if (labels && labels.length !== ids.length)
      throw invalid(`labels[${i}] has ${labels.length} entries for ${ids.length} tokens`, `labels[${i}]`);
    return { inputIds: ids.slice(0, len), ...(labels && { labels: labels.slice(0, len) }) };
  });
}
