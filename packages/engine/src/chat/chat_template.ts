/**
 * Chat templates (Jinja) rendered with @huggingface/jinja, given the same variables transformers'
 * `apply_chat_template` passes, so prompts tokenize to the same ids as in the reference.
 */
import path from "node:path";
import { Template } from "@huggingface/jinja";
import { WenxinError } from "../errors.js";
import { parseJsonObject, readIfExists } from "../json_file.js";
import { SPECIAL_TOKEN_NAMES } from "../tokenizer/sentencepiece_convert.js";
import type { WenxinTokenizer } from "../tokenizer/tokenizer.js";

export type ChatMessage = {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  [k: string]: unknown;
};

export interface ChatRenderOptions {
  /** Append the assistant prefix that starts a reply. Default true (transformers defaults to false). */
  addGenerationPrompt?: boolean;
  /** Tool schemas, passed to the template as `tools` (omitted when not given). */
  tools?: unknown[];
  /** Extra template variables; they override the defaults above. */
  extra?: Record<string, unknown>;
}

/**
 * `chat_template` is a string, or (transformers ≥ 4.34) a list of `{name, template}` of which the
 * one named "default" is the chat template.
 */
function pickTemplate(value: unknown, file: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const named = value.filter(
      (t): t is { name: string; template: string } =>
        !!t && typeof t === "object" && typeof t.name === "string" && typeof t.template === "string",
    );
    const found = named.find((t) => t.name === "default");
    if (found) return found.template;
    throw new WenxinError(
      "ERR_WENXIN_CHAT_TEMPLATE",
      `${file}: chat_template lists no template named "default" (found: ${named.map((t) => t.name).join(", ") || "none"})`,
      { subject: file, expected: "default", actual: named.map((t) => t.name) },
    );
  }
  throw new WenxinError(
    "ERR_WENXIN_CHAT_TEMPLATE",
    `${file}: chat_template must be a string or a list of {name, template}`,
    {
      subject: file,
    },
  );
}

export class ChatTemplate {
  private readonly template: Template;

  constructor(
    /** The Jinja source. */
    readonly source: string,
    private readonly tokenizer: WenxinTokenizer,
  ) {
    try {
      this.template = new Template(source);
    } catch (err) {
      throw new WenxinError(
        "ERR_WENXIN_CHAT_TEMPLATE",
        `Cannot parse chat template: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
  }

  /**
   * Reads the template the way transformers 5.x does: `chat_template.jinja` first, then
   * `chat_template.json`, then `chat_template` in `tokenizer_config.json` (transformers 4.x).
   */
  static async fromDirectory(dir: string, tokenizer: WenxinTokenizer): Promise<ChatTemplate> {
    const jinjaFile = path.join(dir, "chat_template.jinja");
    const jinja = await readIfExists(jinjaFile);
    if (jinja !== undefined) return new ChatTemplate(jinja.toString("utf8"), tokenizer);

    for (const name of ["chat_template.json", "tokenizer_config.json"]) {
      const file = path.join(dir, name);
      const bytes = await readIfExists(file);
      if (bytes === undefined) continue;
      const source = pickTemplate(
        parseJsonObject(file, bytes.toString("utf8"), "ERR_WENXIN_CHAT_TEMPLATE").chat_template,
        file,
      );
      if (source !== undefined) return new ChatTemplate(source, tokenizer);
    }
    throw new WenxinError(
      "ERR_WENXIN_CHAT_TEMPLATE",
      `No chat template in ${dir}: looked for chat_template.jinja, chat_template.json and chat_template in tokenizer_config.json`,
      { subject: dir },
    );
  }

  /** Renders a conversation to the prompt text (encode it with `tokenizer.encode`, no special tokens added). */
  render(messages: ChatMessage[], opts: ChatRenderOptions = {}): string {
    if (!Array.isArray(messages)) {
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "render() expects an array of messages");
    }
    const vars: Record<string, unknown> = {};
    // Only the special tokens that are set, like transformers' special_tokens_map.
    for (const name of SPECIAL_TOKEN_NAMES) {
      const value = this.tokenizer.specialTokens[name];
      if (value !== undefined) vars[name] = value;
    }
    vars.messages = messages;
    vars.add_generation_prompt = opts.addGenerationPrompt ?? true;
    if (opts.tools !== undefined) vars.tools = opts.tools;
    Object.assign(vars, opts.extra);
    try {
      return this.template.render(vars);
    } catch (err) {
      throw new WenxinError(
        "ERR_WENXIN_CHAT_TEMPLATE",
        `Chat template failed: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
  }
}
