// A hub repo id as the model id, resolved through the shared hub cache (laid out here as
// `wenxin pull` / Python's huggingface_hub leave it; the hub client's downloads are tested with
// @wenxin/transformers), then served by the same shared engine as its snapshot directory.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { generateText } from "ai";
import { afterAll, beforeAll, expect, it } from "vitest";

import { createWenxin } from "../src/index.js";
import { DENSE_DIR } from "../../../test/helpers/fixtures.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const LOAD = { threads: 2, maxContext: 512 };
let cacheDir: string;

beforeAll(() => {
  cacheDir = mkdtempSync(path.join(os.tmpdir(), "wenxin-ai-sdk-hub-"));
  const repo = path.join(cacheDir, "models--baidu--tiny-ernie45-dense");
  const snapshot = path.join(repo, "snapshots", COMMIT);
  mkdirSync(snapshot, { recursive: true });
  for (const file of readdirSync(DENSE_DIR)) symlinkSync(path.join(DENSE_DIR, file), path.join(snapshot, file));
  mkdirSync(path.join(repo, "refs"));
  writeFileSync(path.join(repo, "refs", "main"), COMMIT);
  // The optional files this repo does not have, recorded as the hub client records them.
  const noExist = path.join(repo, ".no_exist", COMMIT);
  mkdirSync(noExist, { recursive: true });
  for (const file of ["special_tokens_map.json", "added_tokens.json", "chat_template.jinja", "chat_template.json"])
    writeFileSync(path.join(noExist, file), "");
});
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

it("runs a hub repo id from the cache like its local checkpoint, on the snapshot directory's engine", async () => {
  const fromHub = createWenxin({ ...LOAD, hub: { cacheDir, localFilesOnly: true } });
  const local = createWenxin(LOAD);
  const call = { prompt: "Hello", temperature: 0, maxOutputTokens: 12 };
  try {
    const model = fromHub("baidu/tiny-ernie45-dense");
    const [viaHub, viaDir] = await Promise.all([
      generateText({ model, ...call }),
      generateText({ model: local(DENSE_DIR), ...call }),
    ]);
    expect(viaHub.text).toBe(viaDir.text);
    expect(viaHub.response.modelId).toBe("baidu/tiny-ernie45-dense");
    expect(viaDir.response.modelId).toBe("tiny-ernie45-dense");
    const engine = await model.engine();
    expect(engine.dir).toBe(path.join(cacheDir, "models--baidu--tiny-ernie45-dense", "snapshots", COMMIT));
    // The snapshot directory names the same checkpoint: the same shared engine.
    expect(await local(engine.dir).engine()).toBe(engine);
  } finally {
    await Promise.all([fromHub.close(), local.close()]);
  }
});

it("names what is missing: a repo not in the cache, a path that does not exist", async () => {
  const wenxin = createWenxin({ ...LOAD, hub: { cacheDir, localFilesOnly: true } });
  await expect(generateText({ model: wenxin("baidu/no-such-model"), prompt: "Hi" })).rejects.toMatchObject({
    code: "ERR_WENXIN_FILE_NOT_FOUND",
    message: expect.stringContaining("baidu/no-such-model"),
  });
  await expect(generateText({ model: wenxin("./no/such/dir"), prompt: "Hi" })).rejects.toMatchObject({
    code: "ERR_WENXIN_FILE_NOT_FOUND",
  });
  await wenxin.close();
});
