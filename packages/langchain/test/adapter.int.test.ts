// ChatWenxin with a LoRA adapter trained by `wenxin finetune` (the chat demo's): the tiny model
// answers the demo's question as the adapter taught it, and without the adapter it does not.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { describe, expect, it } from "vitest";

import { ChatWenxin } from "../src/index.js";
import { DENSE_DIR } from "../../../test/helpers/fixtures.js";

const demo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../examples/chat");
const [first] = readFileSync(path.join(demo, "finetune.jsonl"), "utf8").trim().split("\n");
const { messages } = JSON.parse(first!) as { messages: { role: string; content: string }[] };

describe("ChatWenxin with a LoRA adapter", () => {
  it("answers as the adapter taught it", async () => {
    const ask = [new SystemMessage(messages[0]!.content), new HumanMessage(messages[1]!.content)];
    const tuned = new ChatWenxin({
      model: DENSE_DIR,
      adapter: path.join(demo, "adapter"),
      temperature: 0,
      maxTokens: 48,
    });
    expect((await tuned.invoke(ask)).content).toBe(messages[2]!.content);
    const base = new ChatWenxin({ model: DENSE_DIR, temperature: 0, maxTokens: 48 });
    expect((await base.invoke(ask)).content).not.toBe(messages[2]!.content);
  });

  it("refuses an adapter in remote mode", () => {
    expect(() => new ChatWenxin({ model: "x", baseUrl: "http://127.0.0.1:1/v1", adapter: "/a" })).toThrow(/adapter/);
  });
});
