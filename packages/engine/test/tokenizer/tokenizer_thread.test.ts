// encodeAsync / encodeAllAsync: long texts are encoded on the tokenizer's worker thread (the event
// loop keeps turning meanwhile) into exactly the ids `encode` gives; short ones on the calling thread.
import { afterAll, describe, expect, it } from "vitest";

import { WenxinError } from "../../src/errors.js";
import { INLINE_ENCODE_CHARS, WenxinTokenizer } from "../../src/tokenizer/tokenizer.js";
import { setLowPriorityNice } from "../../src/worker/low_priority.js";
import { DENSE_DIR, loadTokenizerCases } from "../../../../test/helpers/fixtures.js";

// Long texts go to the bulk worker, a child process below the process's priority (nice 19 in
// production). These tests are about what it computes, not its priority (test/worker/
// job_threads.test.ts and low_priority.test.ts): at nice 1 it takes the same path, and a loaded
// test machine's busy processes do not starve it (at nice 19 four busy loops made this file take
// 79-96 s of its 120 s timeout).
setLowPriorityNice(1);
const tokenizer = WenxinTokenizer.fromDirectory(DENSE_DIR);
afterAll(async () => (await tokenizer).close());

/** Every fixture case's text, repeated past `chars` characters. */
function longText(chars: number): string {
  const all = loadTokenizerCases()
    .cases.map((c) => c.text)
    .join(" ");
  return all.repeat(Math.ceil(chars / all.length));
}

/** Counts turns of the event loop (immediates) until stopped. */
function countTurns(): { stop(): number } {
  let turns = 0;
  let timer: NodeJS.Immediate = setImmediate(function tick() {
    turns++;
    timer = setImmediate(tick);
  });
  return {
    stop() {
      clearImmediate(timer);
      return turns;
    },
  };
}

describe("WenxinTokenizer off the event loop", () => {
  it("encodes a long text on its worker thread into the ids encode() gives", async () => {
    const tok = await tokenizer;
    const text = longText(40_000);
    const want = tok.encode(text);
    const turns = countTurns();
    const got = await tok.encodeAsync(text);
    // encode() of this text holds the thread for a long time; the event loop turned meanwhile
    expect(turns.stop()).toBeGreaterThan(1);
    expect(got).toEqual(want);
    expect(await tok.encodeAsync(text, { addSpecialTokens: true })).toEqual(
      tok.encode(text, { addSpecialTokens: true }),
    );
  });

  it("encodes a short text on the calling thread", async () => {
    const tok = await tokenizer;
    const text = longText(10).slice(0, INLINE_ENCODE_CHARS);
    const turns = countTurns();
    expect(await tok.encodeAsync(text)).toEqual(tok.encode(text));
    expect(turns.stop()).toBe(0);
  });

  it("encodeAllAsync stops after the text that passes the limit, and counts tokens", async () => {
    const tok = await tokenizer;
    const texts = Array.from({ length: 40 }, (_, i) => `${i}: ${longText(500).slice(0, 500)}`);
    const each = texts.map((t) => tok.encode(t));
    const all = await tok.encodeAllAsync(texts);
    expect(all.ids).toEqual(each);
    expect(all.tokens).toBe(each.reduce((s, ids) => s + ids.length, 0));
    const limit = each[0]!.length + each[1]!.length + 1; // passed by the third text
    const some = await tok.encodeAllAsync(texts, { limit });
    expect(some.ids).toEqual(each.slice(0, 3));
    expect(some.tokens).toBeGreaterThan(limit);
    // short texts: the same answer, on the calling thread
    expect(await tok.encodeAllAsync(texts.slice(0, 2).map((t) => t.slice(0, 100)))).toEqual({
      ids: texts.slice(0, 2).map((t) => tok.encode(t.slice(0, 100))),
      tokens: texts.slice(0, 2).reduce((s, t) => s + tok.encode(t.slice(0, 100)).length, 0),
    });
  });

  it("drops a job whose signal aborts while it waits, and keeps serving the others", async () => {
    const tok = await tokenizer;
    const text = longText(20_000);
    const first = tok.encodeAsync(text);
    const controller = new AbortController();
    const second = tok.encodeAsync(text + " second", { signal: controller.signal });
    controller.abort();
    await expect(second).rejects.toMatchObject({ code: "ERR_WENXIN_ABORTED" });
    expect(await first).toEqual(tok.encode(text));
    await expect(tok.encodeAsync("x".repeat(5000), { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      WenxinError,
    );
  });

  it("can start its worker before the first job", async () => {
    const tok = await WenxinTokenizer.fromDirectory(DENSE_DIR);
    tok.startThread();
    tok.startThread(); // once is enough; a second call changes nothing
    const text = longText(5000);
    expect(await tok.encodeAsync(text)).toEqual(tok.encode(text));
    tok.close();
  });

  it("starts a new worker after close()", async () => {
    const tok = await WenxinTokenizer.fromDirectory(DENSE_DIR);
    const text = longText(5000);
    const pending = tok.encodeAsync(text);
    tok.close();
    await expect(pending).rejects.toMatchObject({ code: "ERR_WENXIN_ABORTED" });
    expect(await tok.encodeAsync(text)).toEqual(tok.encode(text));
    tok.close();
  });
});
