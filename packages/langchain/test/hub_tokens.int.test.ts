// Issue 19.2: a hub repo id as `model` (resolved through the hub cache, fetched when allowed; the
// hub is mocked with msw), getNumTokens with the model's own tokenizer in local and remote mode,
// and serialization that keeps the API key out.
import { repoFromDirectory, useMockHub } from "../../transformers/test/hub/mock_hub.js";
import { load } from "@langchain/core/load";
import { Engine, WenxinTokenizer } from "@wenxin/engine";
import { http, HttpResponse } from "msw";
import { beforeAll, describe, expect, it } from "vitest";

import { ChatWenxin } from "../src/index.js";
import { DENSE_DIR } from "../../../test/helpers/fixtures.js";

const LOAD = { threads: 2, maxContext: 512 };
const REPO = "baidu/tiny-ernie45-dense";
const TEXT = "文心一言 ERNIE 4.5 counts its own tokens: 你好，世界！";

let tokenizer: WenxinTokenizer;

const ctx = useMockHub((hub) => {
  hub.add(repoFromDirectory(REPO, DENSE_DIR));
});
beforeAll(async () => {
  tokenizer = await WenxinTokenizer.fromDirectory(DENSE_DIR);
});

describe("a hub repo id as model", () => {
  it("pulls the checkpoint into the hub cache, chats on it, and runs offline from the cache after", async () => {
    const chat = new ChatWenxin({ model: REPO, load: LOAD, temperature: 0, maxTokens: 8 });
    const reply = await chat.invoke("Hello");
    expect(reply.response_metadata.model_name).toBe(REPO);
    const engine = await chat.getEngine();
    expect(engine.dir.startsWith(ctx.henv.cacheDir)).toBe(true);
    expect(ctx.hub.requestsTo("https://cdn-lfs.hf.co").length).toBeGreaterThan(0);

    // The same answer from the cache alone, without a request.
    const before = ctx.hub.requests.length;
    const offline = new ChatWenxin({
      model: REPO,
      load: LOAD,
      temperature: 0,
      maxTokens: 8,
      hub: { localFilesOnly: true },
    });
    expect((await offline.invoke("Hello")).content).toBe(reply.content);
    expect(ctx.hub.requests.length).toBe(before);
  });

  it("offline, a repo that is not in the cache is a clear not-found naming it", async () => {
    const chat = new ChatWenxin({ model: "baidu/not-cached", load: LOAD, hub: { localFilesOnly: true } });
    await expect(chat.invoke("Hi")).rejects.toMatchObject({
      code: "ERR_WENXIN_FILE_NOT_FOUND",
      message: expect.stringContaining("baidu/not-cached"),
    });
    expect(ctx.hub.requests).toEqual([]);
  });
});

describe("getNumTokens with the model's own tokenizer", () => {
  const expected = () => tokenizer.encode(TEXT).length;

  it("local mode: a directory, without loading the weights", async () => {
    const chat = new ChatWenxin({ model: DENSE_DIR, load: LOAD });
    expect(await chat.getNumTokens(TEXT)).toBe(expected());
    expect(await chat.getNumTokens([{ type: "text", text: TEXT }])).toBe(expected());
  });

  it("local mode: a loaded engine and a hub repo id (tokenizer files only)", async () => {
    const engine = await Engine.load(DENSE_DIR, LOAD);
    try {
      expect(await new ChatWenxin({ model: engine }).getNumTokens(TEXT)).toBe(expected());
    } finally {
      await engine.close();
    }
    expect(await new ChatWenxin({ model: REPO }).getNumTokens(TEXT)).toBe(expected());
  });

  it("remote mode: the given tokenizer checkpoint's (a hub repo id: no weights fetched)", async () => {
    const chat = new ChatWenxin({ model: "ernie-4.5", baseUrl: "http://gpu.test:8000/v1", tokenizer: REPO });
    expect(await chat.getNumTokens(TEXT)).toBe(expected());
    const fetched = ctx.hub.requests.map((r) => new URL(r.url).pathname.split("/").pop());
    expect(fetched).toContain("tokenizer.json");
    expect(fetched.some((f) => f?.endsWith(".safetensors"))).toBe(false);
  });

  it("remote mode without a tokenizer: the server's /tokenize (vLLM's), beside /v1", async () => {
    const bodies: unknown[] = [];
    ctx.server.use(
      http.post("http://gpu.test:8000/tokenize", async ({ request }) => {
        bodies.push(await request.json());
        expect(request.headers.get("authorization")).toBe("Bearer sk-test");
        return HttpResponse.json({ count: 7, max_model_len: 4096, tokens: [1, 2, 3, 4, 5, 6, 7] });
      }),
    );
    const chat = new ChatWenxin({ model: "ernie-4.5", baseUrl: "http://gpu.test:8000/v1", apiKey: "sk-test" });
    expect(await chat.getNumTokens(TEXT)).toBe(7);
    expect(bodies).toEqual([{ model: "ernie-4.5", prompt: TEXT, add_special_tokens: false }]);
  });
});

describe("serialization", () => {
  it("is serializable, with the API key a secret reference, never its value", async () => {
    const chat = new ChatWenxin({
      model: "ernie-4.5",
      baseUrl: "http://gpu.test:8000/v1",
      apiKey: "sk-very-secret-value",
      temperature: 0.3,
    });
    expect(chat.lc_serializable).toBe(true);
    const text = JSON.stringify(chat);
    expect(text).not.toContain("sk-very-secret-value");
    const json = JSON.parse(text) as { type: string; id: string[]; kwargs: Record<string, unknown> };
    expect(json.type).toBe("constructor");
    expect(json.id).toEqual(["langchain", "chat_models", "wenxin", "ChatWenxin"]);
    expect(json.kwargs).toMatchObject({
      model: "ernie-4.5",
      base_url: "http://gpu.test:8000/v1",
      temperature: 0.3,
      api_key: { lc: 1, type: "secret", id: ["WENXIN_API_KEY"] },
    });
    // Loads back with the secret supplied from elsewhere.
    const loaded = await load<ChatWenxin>(text, {
      secretsMap: { WENXIN_API_KEY: "sk-from-vault" },
      importMap: { chat_models__wenxin: { ChatWenxin } },
    });
    expect(loaded).toBeInstanceOf(ChatWenxin);
    expect(loaded.baseUrl).toBe("http://gpu.test:8000/v1");
    expect(JSON.stringify(loaded)).not.toContain("sk-from-vault");
  });

  it("an engine given as model is serialized as its checkpoint directory", async () => {
    const engine = await Engine.load(DENSE_DIR, LOAD);
    try {
      const json = JSON.parse(JSON.stringify(new ChatWenxin({ model: engine }))) as { kwargs: { model: unknown } };
      expect(json.kwargs.model).toBe(engine.dir);
    } finally {
      await engine.close();
    }
  });
});
