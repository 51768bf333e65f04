// PreTrainedTokenizer against transformers' own outputs (tokenizer-cases.json, chat-template-cases.json).

import { beforeAll, describe, expect, it } from "vitest";

import { AutoTokenizer, type PreTrainedTokenizer } from "../../src/index.js";
import { DENSE_DIR, loadChatTemplateCases, loadTokenizerCases } from "../../../../test/helpers/fixtures.js";

const tokenizerCases = loadTokenizerCases().cases;
const chatCases = loadChatTemplateCases().cases;

let tokenizer: PreTrainedTokenizer;
beforeAll(async () => {
  tokenizer = await AutoTokenizer.from_pretrained(DENSE_DIR);
});

describe("encode / decode", () => {
  it.each(tokenizerCases.map((c) => [c.text, c] as const))("%j", (_text, c) => {
    expect(tokenizer.encode(c.text)).toEqual(c.ids);
    expect(tokenizer(c.text, { return_tensor: false })).toEqual({
      input_ids: c.ids,
      attention_mask: c.ids.map(() => 1),
    });
    const { input_ids, attention_mask } = tokenizer(c.text);
    expect(input_ids.dims).toEqual([1, c.ids.length]);
    expect(input_ids.tolist()).toEqual([c.ids.map(BigInt)]);
    expect(attention_mask.tolist()).toEqual([c.ids.map(() => 1n)]);
    expect(tokenizer.tokenize(c.text)).toEqual(c.tokens);
    expect(tokenizer.decode(c.ids)).toBe(c.decoded);
    expect(tokenizer.decode(c.ids, { skip_special_tokens: true })).toBe(c.decoded_skip_special);
  });

  it("batch_decode decodes each row", () => {
    const rows = tokenizerCases.slice(0, 4);
    expect(tokenizer.batch_decode(rows.map((c) => c.ids))).toEqual(rows.map((c) => c.decoded));
  });

  it("a batch of texts gives a batch of ids, padded with the pad token when asked", () => {
    const [a, b] = [tokenizerCases[0]!, tokenizerCases[2]!];
    expect(tokenizer([a.text, b.text], { return_tensor: false })).toEqual({
      input_ids: [a.ids, b.ids],
      attention_mask: [a.ids.map(() => 1), b.ids.map(() => 1)],
    });
    const pad = tokenizer.pad_token_id!;
    const padded = tokenizer([a.text, b.text], { padding: true, padding_side: "left" });
    const width = Math.max(a.ids.length, b.ids.length);
    expect(padded.input_ids.dims).toEqual([2, width]);
    expect(padded.input_ids.toRows()[0]).toEqual([...new Array(width - a.ids.length).fill(pad), ...a.ids]);
    expect(padded.attention_mask.toRows()[0]).toEqual([
      ...new Array(width - a.ids.length).fill(0),
      ...a.ids.map(() => 1),
    ]);
    expect(padded.input_ids.toRows()[1]).toEqual(b.ids);
    // Rows of different lengths cannot be one Tensor: said plainly, with what to do.
    expect(() => tokenizer([a.text, b.text])).toThrow(/pass padding: true/);
  });

  it("truncates to max_length when asked", () => {
    const c = tokenizerCases[2]!;
    expect(tokenizer(c.text, { truncation: true, max_length: 3, return_tensor: false }).input_ids).toEqual(
      c.ids.slice(0, 3),
    );
  });

  it("converts between tokens and ids", () => {
    const c = tokenizerCases[0]!;
    expect(tokenizer.convert_tokens_to_ids(c.tokens)).toEqual(c.ids);
    expect(tokenizer.convert_ids_to_tokens(c.ids)).toEqual(c.tokens);
    expect(tokenizer.convert_tokens_to_ids("<|end_of_sentence|>")).toBe(4);
  });

  it("exposes the special tokens of tokenizer_config.json", () => {
    expect([tokenizer.bos_token, tokenizer.eos_token, tokenizer.unk_token, tokenizer.pad_token]).toEqual([
      "<s>",
      "</s>",
      "<unk>",
      "<unk>",
    ]);
    expect([tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.sep_token_id]).toEqual([
      1, 2, 0, 4,
    ]);
    expect(tokenizer.all_special_ids).toContain(3);
    expect(tokenizer.vocab_size).toBe(8000);
    expect(tokenizer.model_max_length).toBe(131072);
  });

  it("rejects unknown options by name", () => {
    expect(() => tokenizer("x", { maxLength: 3 } as never)).toThrow(/unknown option\(s\) 'maxLength'/);
  });
});

describe("apply_chat_template", () => {
  it.each(chatCases.map((c) => [c.name, c.add_generation_prompt, c] as const))(
    "%s (add_generation_prompt %s)",
    (_n, _g, c) => {
      const opts = { add_generation_prompt: c.add_generation_prompt };
      expect(tokenizer.apply_chat_template(c.messages, { ...opts, tokenize: false })).toBe(c.text);
      // transformers.js v3: a dict of Tensors by default.
      const dict = tokenizer.apply_chat_template(c.messages, opts);
      expect(dict.input_ids.tolist()).toEqual([c.ids.map(BigInt)]);
      expect(dict.attention_mask.dims).toEqual([1, c.ids.length]);
      expect(tokenizer.apply_chat_template(c.messages, { ...opts, return_dict: false }).tolist()).toEqual([
        c.ids.map(BigInt),
      ]);
      expect(tokenizer.apply_chat_template(c.messages, { ...opts, return_tensor: false })).toEqual({
        input_ids: c.ids,
        attention_mask: c.ids.map(() => 1),
      });
      expect(tokenizer.apply_chat_template(c.messages, { ...opts, return_dict: false, return_tensor: false })).toEqual(
        c.ids,
      );
    },
  );

  it("defaults add_generation_prompt to false, as transformers does", () => {
    const c = chatCases.find((x) => !x.add_generation_prompt)!;
    expect(tokenizer.apply_chat_template(c.messages, { return_dict: false, return_tensor: false })).toEqual(c.ids);
  });

  it("takes padding, truncation and max_length as tokenizer options, not template variables", () => {
    const template =
      "{% for m in messages %}{{ m.content }}{% endfor %}|{{ padding }}|{{ truncation }}|{{ max_length }}";
    const messages = [{ role: "user" as const, content: "hello there, a long message" }];
    const text = tokenizer.apply_chat_template(messages, { chat_template: template, tokenize: false, padding: true });
    expect(text).toBe("hello there, a long message|||");
    const ids = tokenizer.apply_chat_template(messages, {
      chat_template: template,
      truncation: true,
      max_length: 3,
      return_tensor: false,
    });
    expect(ids.input_ids).toHaveLength(3);
  });

  it("renders a custom template and passes extra variables to it", () => {
    const text = tokenizer.apply_chat_template([{ role: "user", content: "hi" }], {
      tokenize: false,
      chat_template: "{% for m in messages %}[{{ m.content }}]{% endfor %}{{ flavour }}",
      flavour: "!",
    });
    expect(text).toBe("[hi]!");
    expect(tokenizer.chat_template).toContain("Assistant: ");
  });
});
