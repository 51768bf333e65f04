import { CONSTRAINT_LIMITS } from "@wenxin/engine";
import { parseOrThrow } from "@wenxin/engine/internal";
import { z } from "zod";

/** Every server option, with its default: the CLI and `startServer` both read this schema. */
export const serverOptionsSchema = z.object({
  /** Interface to bind. Loopback by default: exposing the server is a deliberate choice. */
  host: z.string().min(1).default("127.0.0.1"),
  /** TCP port; 0 picks a free one. */
  port: z.number().int().min(0).max(65535).default(8000),
  /** When set, every route but `/health` requires `Authorization: Bearer <apiKey>`. */
  apiKey: z.string().min(1).optional(),
  /** A second key that opens `/metrics` only (for a scraper that must not use the API). */
  metricsKey: z.string().min(1).optional(),
  /**
   * Origins whose browser pages may call the API (CORS): exact origins such as
   * `https://app.example.com`, or `*` for any. Off (no CORS headers) by default.
   */
  cors: z.array(z.union([z.literal("*"), z.url({ protocol: /^https?$/ })])).default([]),
  /** The model id clients send in `model`; default: the model directory's name. */
  modelName: z.string().min(1).optional(),
  /** Sequences (one per prompt × choice) running on the engine at once; more wait in the queue. */
  maxConcurrency: z.number().int().min(1).max(4096).default(64),
  /** Requests that may wait for a slot; beyond that the server answers 429. */
  maxQueue: z.number().int().min(0).max(1_000_000).default(1024),
  /** Largest request body in bytes (413 above). */
  bodyLimit: z
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  /**
   * How long a client may take to send its whole request (headers and body), in ms; 408 after.
   * It bounds slow uploads only: a streaming answer may run longer. 0 turns the limit off.
   */
  requestTimeoutMs: z.number().int().min(0).default(60_000),
  /**
   * How long a client may leave the server's output unread (the socket's buffers full, nothing
   * taken) before it is disconnected and its work freed, in ms. 0 turns the limit off.
   */
  streamIdleTimeoutMs: z.number().int().min(0).default(60_000),
  /**
   * A stream with nothing to send for this long (waiting for a slot, prefilling a long prompt) gets
   * an SSE comment, so clients and proxies see it is alive; in ms, 0 for none.
   */
  sseKeepAliveMs: z.number().int().min(0).default(5_000),
  /** `max_tokens` when a chat request gives none; default: whatever context is left after the prompt. */
  defaultMaxTokens: z.number().int().min(1).optional(),
  /** Stop strings one request may give. */
  maxStopStrings: z.number().int().min(0).max(1024).default(16),
  /** Characters of the longest stop string. */
  maxStopLength: z.number().int().min(1).max(65_536).default(256),
  /** Inputs of one embeddings request. */
  maxEmbeddingInputs: z.number().int().min(1).default(2048),
  /** Tokens of all the inputs of one embeddings request together. */
  maxEmbeddingTokens: z.number().int().min(1).default(65_536),
  /**
   * Largest grammar a request's JSON schema (response_format, text.format, a forced tool call) may
   * compile to, in grammar elements; 400 naming the schema path above it.
   */
  maxGrammarSize: z.number().int().min(1).default(CONSTRAINT_LIMITS.maxGrammarSize),
  /** Longest time compiling one request's constraint may take (on a worker thread), in ms; 400 after it. */
  grammarTimeoutMs: z.number().int().min(1).default(CONSTRAINT_LIMITS.timeoutMs),
  /** Responses kept in memory for `previous_response_id` (least recently used dropped first); 0 keeps none. */
  responsesStoreSize: z.number().int().min(0).max(1_000_000).default(1000),
  /** How long SIGTERM waits for in-flight requests before aborting them. */
  drainTimeoutMs: z.number().int().min(0).default(30_000),
  /** pino level; "silent" turns logging off. */
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type ServerOptionsInput = z.input<typeof serverOptionsSchema>;
export type ServerOptions = z.output<typeof serverOptionsSchema>;

/** Validates server options; throws a WenxinError (ERR_WENXIN_INVALID_ARGUMENT) naming the bad option. */
export function parseServerOptions(input: ServerOptionsInput): ServerOptions {
  return parseOrThrow(serverOptionsSchema, input, "server options");
}
