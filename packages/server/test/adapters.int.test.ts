// LoRA adapters served beside the base model under their own names (vLLM's --lora-modules): a
// request naming an adapter generates with it, /v1/models lists it with its parent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Engine } from "@wenxin/engine";

import { DENSE_DIR, LORA_DIR } from "../../../test/helpers/fixtures.js";
import { MODEL_ID, postJson, startTestServer, type TestServer } from "./helpers/test_server.js";

const PROMPT = "文心大模型 ERNIE 4.5";
let reference: Engine;
let srv: TestServer;

beforeAll(async () => {
  reference = await Engine.load(DENSE_DIR, { threads: 1 });
  await reference.loadAdapter("lora", LORA_DIR);
  srv = await startTestServer(DENSE_DIR, { loadOptions: { threads: 1 }, adapters: { "tiny-lora": LORA_DIR } });
  await srv.server.model.ready;
});

afterAll(async () => {
  await srv?.stop();
  await reference?.close();
});

async function greedy(adapter?: string): Promise<string> {
  const result = await reference.generate({ prompt: PROMPT, maxNewTokens: 8, temperature: 0, adapter }).result();
  return result.text;
}

describe("served adapters", () => {
  it("lists each adapter with its base model as parent", async () => {
    const res = await fetch(`${srv.baseURL}/models`);
    const body = (await res.json()) as { data: { id: string; parent?: string }[] };
    expect(body.data.map((m) => [m.id, m.parent])).toEqual([
      [MODEL_ID, undefined],
      ["tiny-lora", MODEL_ID],
    ]);
    const one = await fetch(`${srv.baseURL}/models/tiny-lora`);
    expect(await one.json()).toMatchObject({ id: "tiny-lora", parent: MODEL_ID });
  });

  it("generates with the adapter a request names, and without it for the base model", async () => {
    expect(await greedy("lora")).not.toBe(await greedy()); // the fixture adapter changes the greedy text
    for (const [model, adapter] of [
      ["tiny-lora", "lora"],
      [MODEL_ID, undefined],
    ] as const) {
      const res = await postJson(`${srv.baseURL}/completions`, {
        model,
        prompt: PROMPT,
        max_tokens: 8,
        temperature: 0,
      });
      expect(res.status).toBe(200);
      expect(res.json.choices[0].text).toBe(await greedy(adapter));
    }
  });

  it("refuses an adapter for embeddings and an unknown name", async () => {
    const emb = await postJson(`${srv.baseURL}/embeddings`, { model: "tiny-lora", input: "hi" });
    expect(emb.status).toBe(400);
    expect(emb.json.error.param).toBe("model");
    const unknown = await postJson(`${srv.baseURL}/completions`, { model: "other", prompt: "hi", max_tokens: 1 });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.message).toContain("'tiny-lora'");
  });
});
