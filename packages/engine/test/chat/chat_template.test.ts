import { describe, it, expect, afterAll } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { WenxinError } from "../../src/errors.js";
import { ChatTemplate } from "../../src/chat/chat_template.js";
import { WenxinTokenizer } from "../../src/tokenizer/tokenizer.js";
import { wenxinRejection } from "../../../../test/helpers/errors.js";
import { FIXTURES, loadChatTemplateCases } from "../../../../test/helpers/fixtures.js";

const MODEL_DIRS = ["tiny-ernie45-dense", "tiny-ernie45-moe"].map((d) => path.join(FIXTURES, d));
const fixture = loadChatTemplateCases();
const tok = await WenxinTokenizer.fromDirectory(MODEL_DIRS[0]);

const tmpDirs: string[] = [];
async function tmp(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "wenxin-chat-"));
  tmpDirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}
afterAll(async () => {
  await Promise.all(tmpDirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe.each(MODEL_DIRS)("ChatTemplate from tokenizer_config.json of %s", (dir) => {
  it.each(fixture.cases.map((c) => [`${c.name} (add_generation_prompt=${c.add_generation_prompt})`, c] as const))(
    "%s",
    async (_label, c) => {
      const chat = await ChatTemplate.fromDirectory(dir, tok);
      expect(chat.source).toBe(fixture.template);
      const text = chat.render(c.messages, { addGenerationPrompt: c.add_generation_prompt });
      expect(text).toBe(c.text);
      expect(tok.encode(text)).toEqual(c.ids);
    },
  );
});

describe("ChatTemplate", () => {
  const single = fixture.cases.find((c) => c.add_generation_prompt)!;

  it("defaults to addGenerationPrompt: true", async () => {
    const chat = await ChatTemplate.fromDirectory(MODEL_DIRS[0], tok);
    expect(chat.render(single.messages)).toBe(single.text);
  });

  it("reads chat_template.jinja (transformers 5.x layout), preferring it over tokenizer_config.json", async () => {
    const onlyJinja = await tmp({ "chat_template.jinja": fixture.template });
    for (const c of fixture.cases) {
      const chat = await ChatTemplate.fromDirectory(onlyJinja, tok);
      expect(chat.render(c.messages, { addGenerationPrompt: c.add_generation_prompt })).toBe(c.text);
    }
    const both = await tmp({
      "chat_template.jinja": "jinja:{{ messages[0].content }}",
      "tokenizer_config.json": JSON.stringify({ chat_template: "config:{{ messages[0].content }}" }),
    });
    expect((await ChatTemplate.fromDirectory(both, tok)).render([{ role: "user", content: "x" }])).toBe("jinja:x");
  });

  it("picks the template named default from a list", async () => {
    const dir = await tmp({
      "tokenizer_config.json": JSON.stringify({
        chat_template: [
          { name: "tool_use", template: "tools" },
          { name: "default", template: fixture.template },
        ],
      }),
    });
    expect((await ChatTemplate.fromDirectory(dir, tok)).render(single.messages)).toBe(single.text);
    const noDefault = await tmp({
      "tokenizer_config.json": JSON.stringify({ chat_template: [{ name: "rag", template: "x" }] }),
    });
    expect((await wenxinRejection(ChatTemplate.fromDirectory(noDefault, tok))).code).toBe("ERR_WENXIN_CHAT_TEMPLATE");
  });

  it("passes special tokens, tools and extra variables", async () => {
    const chat = new ChatTemplate(
      "{{ bos_token }}|{{ eos_token }}|{{ cls_token }}|{{ sep_token }}|{{ pad_token }}|{{ unk_token }}|{{ mask_token }}|" +
        "{% if add_generation_prompt %}gen{% else %}no gen{% endif %}|{% if tools is defined %}{{ tools | length }}{% else %}no tools{% endif %}|{{ who }}",
      tok,
    );
    expect(chat.render([], { addGenerationPrompt: false, extra: { who: "me" } })).toBe(
      "<s>|</s>|<|begin_of_sentence|>|<|end_of_sentence|>|<unk>|<unk>|<mask:1>|no gen|no tools|me",
    );
    expect(chat.render([], { tools: [{ name: "f" }, { name: "g" }] })).toContain("|gen|2|");
  });

  it("throws CHAT_TEMPLATE when there is no template", async () => {
    const dir = await tmp({ "tokenizer_config.json": JSON.stringify({ bos_token: "<s>" }) });
    const err = await wenxinRejection(ChatTemplate.fromDirectory(dir, tok));
    expect(err.code).toBe("ERR_WENXIN_CHAT_TEMPLATE");
    expect(err.message).toContain(dir);
  });

  it("wraps template syntax and runtime errors in CHAT_TEMPLATE", () => {
    expect(() => new ChatTemplate("{% if %}", tok)).toThrow(WenxinError);
    const raising = new ChatTemplate("{{ raise_exception('only user messages') }}", tok);
    try {
      raising.render([{ role: "user", content: "x" }]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(WenxinError);
      expect((err as WenxinError).code).toBe("ERR_WENXIN_CHAT_TEMPLATE");
      expect((err as WenxinError).message).toContain("only user messages");
    }
  });
});
