// The metrics vLLM dashboards read, under vLLM's names with the `model_name` label: queue time,
// inter-token latency and why sequences ended.
import { describe, expect, it } from "vitest";

import { MODEL_ID, postJson, startPost, useDenseServer } from "./helpers/test_server.js";

const ctx = useDenseServer();

async function sample(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${ctx.srv.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

const label = `model_name="${MODEL_ID}"`;

describe("vLLM-named metrics", () => {
  it("count queue time, inter-token latency and finish reasons per sequence", async () => {
    const chat = await postJson(`${ctx.srv.baseURL}/chat/completions`, {
      model: MODEL_ID,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 5,
      n: 2,
      temperature: 1,
      seed: 1,
    });
    expect(chat.status).toBe(200);
    const lengthCut = chat.json.choices.filter((c: { finish_reason: string }) => c.finish_reason === "length").length;
    const tokens = chat.json.usage.completion_tokens as number;
    expect(await sample("vllm:request_queue_time_seconds_count", label)).toBe(1);
    expect(await sample("vllm:request_success_total", `${label},finished_reason="length"`)).toBe(lengthCut);
    expect(await sample("vllm:request_success_total", `${label},finished_reason="stop"`)).toBe(2 - lengthCut);
    // One interval per token after each sequence's first.
    expect(await sample("vllm:inter_token_latency_seconds_count", label)).toBe(tokens - 2);

    // A client that leaves mid-stream: its sequence counts as aborted.
    const ac = new AbortController();
    const res = await startPost(
      `${ctx.srv.baseURL}/completions`,
      { model: MODEL_ID, prompt: "hello", max_tokens: 2000, stream: true },
      ac.signal,
    );
    await res.body!.getReader().read();
    ac.abort();
    await expect.poll(() => sample("vllm:request_success_total", `${label},finished_reason="abort"`)).toBe(1);
  });
});
