/**
 * What the server needs from @wenxin/engine beyond generate(): the engine's scheduler statistics
 * (`engine.stats()`) and per-token log-probabilities (`generate({ logprobs })`). They are declared
 * here, narrowly, and detected at run time, so the server builds and serves against an engine that
 * lacks them (then /metrics estimates KV use and `logprobs` is refused with a clear 400).
 */
import { generateOptionsSchema, type Engine, type TokenEvent } from "@wenxin/engine";

/** The scheduler's state, as `engine.stats()` reports it (synchronous, cheap). */
export interface EngineStats {
  /** Sequences submitted and not yet scheduled. */
  waiting: number;
  /** Sequences being stepped. */
  running: number;
  kvBlocksTotal: number;
  kvBlocksUsed: number;
  kvBlocksFree: number;
  /** Tokens per KV block. */
  kvBlockTokens: number;
  /** Prompt tokens served from the prefix cache instead of being computed (cumulative). */
  prefixCacheHitTokens: number;
  promptTokens: number;
  generatedTokens: number;
  tokensPerSecond: number;
  steps: number;
  preemptions: number;
}

/** The statistics of `engine`, or undefined when this engine does not report them. */
export function engineStats(engine: Engine | undefined): EngineStats | undefined {
  const e = engine as (Engine & { stats?: () => EngineStats }) | undefined;
  return typeof e?.stats === "function" ? e.stats() : undefined;
}

/** One generated token's log-probability and the most likely alternatives at its step. */
export interface EngineTokenLogprob {
  tokenId: number;
  logprob: number;
  top: { tokenId: number; logprob: number }[];
}

/** A token event of a request made with `logprobs`: one entry per id of `tokenIds`. */
export type TokenEventWithLogprobs = TokenEvent & { logprobs?: EngineTokenLogprob[] };

/** True once @wenxin/engine's generate options know `logprobs`. */
export function engineReturnsLogprobs(): boolean {
  const shape = (generateOptionsSchema as unknown as { shape?: Record<string, unknown> }).shape;
  return !!shape && "logprobs" in shape;
}

/** The generate-options fragment that asks for log-probabilities (empty when not wanted). */
export function logprobsOption(topCount: number | undefined): Record<string, never> {
  return (topCount === undefined ? {} : { logprobs: topCount }) as Record<string, never>;
}
