/**
 * pipeline("text-generation"): text in, text out; chat messages in, the conversation with the new
 * assistant message out (transformers' behaviour). Several inputs run concurrently.
 */
import { WenxinError, type ChatMessage } from "@wenxin/engine";

import type { GenerateOptionsInput } from "../generation/generate.js";
import { Pipeline, generationConfigOf } from "./pipeline_base.js";

export type Chat = ChatMessage[];

export interface TextGenerationOptions extends GenerateOptionsInput {
  /** Include the prompt (text) or the input conversation (chat) in generated_text. Default true. */
  return_full_text?: boolean;
  /** Tool schemas for the chat template. */
  tools?: unknown[];
  /** With a PeftModel: the adapter per input (default the active one). */
  adapter_names?: string[];
}

export interface TextGenerationPipeline {
  (text: string, options?: TextGenerationOptions): Promise<{ generated_text: string }[]>;
  (chat: Chat, options?: TextGenerationOptions): Promise<{ generated_text: Chat | string }[]>;
  (texts: string[], options?: TextGenerationOptions): Promise<{ generated_text: string }[][]>;
  (chats: Chat[], options?: TextGenerationOptions): Promise<{ generated_text: Chat | string }[][]>;
}

function isChat(v: unknown): v is Chat {
  return (
    Array.isArray(v) && v.length > 0 && v.every((m) => !!m && typeof m === "object" && !Array.isArray(m) && "role" in m)
  );
}

type Input = string | Chat | string[] | Chat[];
type Output = { generated_text: string | Chat }[] | { generated_text: string | Chat }[][];

/** transformers.js' default for this task when nothing else sets a length. */
const DEFAULT_MAX_NEW_TOKENS = 256;

export class TextGenerationPipeline extends Pipeline<[Input, TextGenerationOptions?], Output> {
  protected async _call(input: Input, options: TextGenerationOptions = {}): Promise<Output> {
    // A single conversation is an array too: a batch is an array of strings or of conversations.
    const batched =
      Array.isArray(input) &&
      input.length > 0 &&
      ((input as unknown[]).every((x) => typeof x === "string") || (input as unknown[]).every(isChat));
    const items = (batched ? input : [input]) as (string | Chat)[];
    if (items.some((x) => typeof x !== "string" && !isChat(x)))
      throw new WenxinError(
        "ERR_WENXIN_INVALID_ARGUMENT",
        "text-generation expects a string, chat messages, or an array of either",
      );
    const { return_full_text, tools, adapter_names, ...generateOptions } = options;
    const prompts = items.map((item) =>
      typeof item === "string"
        ? this.tokenizer.encode(item)
        : this.tokenizer.apply_chat_template(item, {
            add_generation_prompt: true,
            tools,
            return_dict: false,
            return_tensor: false,
          }),
    );
    const gc = generationConfigOf(this.model);
    const hasLength =
      generateOptions.max_new_tokens !== undefined ||
      generateOptions.max_length !== undefined ||
      gc.max_new_tokens !== null;
    const opts = { ...generateOptions, ...(hasLength ? {} : { max_new_tokens: DEFAULT_MAX_NEW_TOKENS }) };
    const sequences =
      "base_model" in this.model
        ? await this.model.generate_ids(prompts, { ...opts, adapter_names })
        : await this.model.generate_ids(prompts, opts);
    const outputs = items.map((item, i) => {
      const text = this.tokenizer.decode(sequences[i]!.slice(prompts[i]!.length), { skip_special_tokens: true });
      if (return_full_text === false) return [{ generated_text: text }];
      if (typeof item === "string") return [{ generated_text: item + text }];
      return [{ generated_text: [...item, { role: "assistant", content: text } as ChatMessage] }];
    });
    return batched ? outputs : outputs[0]!;
  }
}
