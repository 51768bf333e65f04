// A consumer that stops reading pauses its request in the engine (so its buffer stays bounded and
// the other requests keep the engine to themselves), and resumes it once it has caught up.
import { beforeAll, describe, expect, it } from "vitest";

import { GenerationStream } from "../../src/generation/generation_stream.js";
import type { NativeTokenEvent } from "../../src/native/addon_types.js";
import { WenxinTokenizer } from "../../src/tokenizer/tokenizer.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

function tokenEvent(id: number, done = false): NativeTokenEvent {
  return {
    id: 1,
    tokens: Int32Array.of(id),
    done,
    finishReason: done ? "length" : "",
    promptTokens: 3,
    completionTokens: 0,
  };
}

describe("GenerationStream backpressure", () => {
  let tokenizer: WenxinTokenizer;
  beforeAll(async () => {
    tokenizer = await WenxinTokenizer.fromDirectory(DENSE_DIR);
  });

  it("pauses the request at 256 unread events and resumes it below 64", async () => {
    const calls: boolean[] = [];
    const stream = new GenerationStream(tokenizer, [], 3, () => {}, { setPaused: (p) => calls.push(p) });
    for (let i = 0; i < 255; i++) stream.onNativeEvent(tokenEvent(500 + i));
    expect(calls).toEqual([]);
    stream.onNativeEvent(tokenEvent(1000));
    expect(calls).toEqual([true]);
    // Events already on their way still arrive and are kept.
    for (let i = 0; i < 10; i++) stream.onNativeEvent(tokenEvent(1001 + i));
    expect(calls).toEqual([true]);

    const it = stream[Symbol.asyncIterator]();
    let read = 0;
    while (calls.length === 1) {
      await it.next();
      read++;
    }
    expect(calls).toEqual([true, false]);
    expect(266 - read).toBe(64);
    stream.onNativeEvent(tokenEvent(2000, true));
    const rest: number[] = [];
    for (let r = await it.next(); !r.done; r = await it.next())
      if (r.value.type === "token") rest.push(...r.value.tokenIds);
    expect(rest.at(-1)).toBe(2000);
    expect(calls).toEqual([true, false]);
  });
});
