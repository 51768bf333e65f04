/**
 * `providerMetadata.wenxin` of a call: its timings (time to first output, total, decode rate) and,
 * in local mode, the engine's state when the call ended (step times, running and waiting
 * sequences, KV cache use).
 */
import type { JSONObject } from "@ai-sdk/provider";
import type { Engine } from "@wenxin/engine";
import type { ChatDelta } from "@wenxin/engine/internal";

export class CallTimer {
  private readonly start = performance.now();
  private first: number | undefined;

  /**
   * Sees a delta; the first one with generated text (not the prefill of a forced call, which
   * comes before any token) marks the time to first token.
   */
  saw(delta: ChatDelta): void {
    if (this.first !== undefined) return;
    const generated = delta.type === "end" || (delta.type === "tool_call_chunk" ? delta.args : delta.text) !== "";
    if (generated) this.first = performance.now();
  }

  metadata(outputTokens: number): JSONObject {
    const end = performance.now();
    const first = this.first ?? end;
    const decodeMs = end - first;
    return {
      timeToFirstTokenMs: round(first - this.start),
      totalMs: round(end - this.start),
      // Tokens after the first over the time after it: the decode rate this call saw.
      outputTokensPerSecond: outputTokens > 1 && decodeMs > 0 ? round(((outputTokens - 1) * 1000) / decodeMs) : null,
    };
  }
}

export function engineMetadata(engine: Engine): JSONObject {
  const s = engine.stats();
  return {
    engine: {
      meanStepMs: round(s.meanStepMs),
      lastStepMs: round(s.lastStepMs),
      tokensPerSecond: round(s.tokensPerSecond),
      running: s.running,
      waiting: s.waiting,
      kvBlocksUsed: s.kvBlocksUsed,
      kvBlocksTotal: s.kvBlocksTotal,
      kvCache: s.kvCache,
    },
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
