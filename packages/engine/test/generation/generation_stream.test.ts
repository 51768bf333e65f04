// GenerationStream on hand-made native events: stop strings, and result() whether or not the
// stream was iterated first.
import { describe, expect, it } from "vitest";

import { GenerationStream } from "../../src/generation/generation_stream.js";
import type { NativeTokenEvent } from "../../src/native/addon_types.js";
import { WenxinTokenizer } from "../../src/tokenizer/tokenizer.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

const tokenizer = await WenxinTokenizer.fromDirectory(DENSE_DIR);

function events(text: string): NativeTokenEvent[] {
  const ids = tokenizer.encode(text);
  return ids.map((id, i) => ({
    id: 1,
    tokens: Int32Array.of(id),
    done: i === ids.length - 1,
    finishReason: i === ids.length - 1 ? "length" : "",
    promptTokens: 3,
    completionTokens: i + 1,
  }));
}

function streamOf(text: string, stop: string[] = []): { stream: GenerationStream; cancelled: () => boolean } {
  let cancelled = false;
  const stream = new GenerationStream(tokenizer, stop, 3, () => (cancelled = true));
  for (const ev of events(text)) if (stream.onNativeEvent(ev)) break;
  return { stream, cancelled: () => cancelled };
}

describe("GenerationStream", () => {
  it("result() resolves after the stream was iterated to its end", async () => {
    const { stream } = streamOf("Hello there, world");
    let streamed = "";
    for await (const ev of stream) if (ev.type === "token") streamed += ev.text;
    const result = await stream.result();
    expect(result.text).toBe("Hello there, world");
    expect(streamed).toBe(result.text);
    expect(await stream.result()).toBe(result);
  });

  it("result() finishes a stream the caller stopped reading", async () => {
    const { stream } = streamOf("one two three four");
    for await (const _ev of stream) break;
    expect((await stream.result()).text).toBe("one two three four");
  });

  it("cuts at a stop string, cancels the request, and streams no part of it", async () => {
    const { stream, cancelled } = streamOf("Hello there, world, and more", ["world"]);
    const texts: string[] = [];
    for await (const ev of stream) if (ev.type === "token") texts.push(ev.text);
    expect(texts.join("")).toBe("Hello there, ");
    expect((await stream.result()).finishReason).toBe("stop");
    expect(cancelled()).toBe(true);
  });
});
