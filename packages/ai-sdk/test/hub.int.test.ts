// A hub repo id as the model id: the checkpoint is fetched into the shared hub cache (a mocked
// hub, msw), then served by the same shared engine as its snapshot directory; offline from the
// cache afterwards.
import { generateText } from "ai";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";

import { createWenxin } from "../src/index.js";
import { isolatedHubEnv, type HubEnv } from "../../transformers/test/hub/hub_env.js";
import { MockHub, repoFromDirectory } from "../../transformers/test/hub/mock_hub.js";
import { DENSE_DIR } from "../../../test/helpers/fixtures.js";

const server = setupServer();
const LOAD = { threads: 2, maxContext: 512 };
let hub: MockHub;
let henv: HubEnv;

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterAll(() => server.close());
beforeEach(() => {
  henv = isolatedHubEnv();
  hub = new MockHub();
  hub.add(repoFromDirectory("baidu/tiny-ernie45-dense", DENSE_DIR));
  server.use(...hub.handlers());
});
afterEach(() => {
  server.resetHandlers();
  henv.restore();
});

it("downloads a hub repo id, runs it like the local checkpoint, then loads it offline", async () => {
  const fromHub = createWenxin(LOAD);
  const local = createWenxin(LOAD);
  const call = { prompt: "Hello", temperature: 0, maxOutputTokens: 12 };
  let expected: string;
  try {
    const remoteModel = fromHub("baidu/tiny-ernie45-dense");
    const [viaHub, viaDir] = await Promise.all([
      generateText({ model: remoteModel, ...call }),
      generateText({ model: local(DENSE_DIR), ...call }),
    ]);
    expect(viaHub.text).toBe(viaDir.text);
    expected = viaDir.text;
    const engine = await remoteModel.engine();
    expect(engine.dir).toContain(`models--baidu--tiny-ernie45-dense`);
    expect(hub.requests.length).toBeGreaterThan(0);

    // The snapshot directory names the same checkpoint: the same shared engine.
    expect(await local(engine.dir).engine()).toBe(engine);
  } finally {
    await Promise.all([fromHub.close(), local.close()]);
  }

  hub.requests.length = 0;
  process.env.HF_HUB_OFFLINE = "1";
  const offline = createWenxin(LOAD);
  try {
    const again = await generateText({ model: offline("baidu/tiny-ernie45-dense"), ...call });
    expect(again.text).toBe(expected);
    expect(hub.requests).toEqual([]);
  } finally {
    await offline.close();
  }
});

it("names what is missing: neither a path nor a hub repo", async () => {
  const wenxin = createWenxin(LOAD);
  await expect(generateText({ model: wenxin("baidu/no-such-model"), prompt: "Hi" })).rejects.toMatchObject({
    code: expect.stringMatching(/^ERR_WENXIN_/),
    message: expect.stringContaining("baidu/no-such-model"),
  });
  await expect(generateText({ model: wenxin("./no/such/dir"), prompt: "Hi" })).rejects.toMatchObject({
    code: "ERR_WENXIN_FILE_NOT_FOUND",
  });
  await wenxin.close();
});
