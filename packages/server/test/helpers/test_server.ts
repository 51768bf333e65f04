// Starts a @wenxin/server on loopback (port 0) for a test, with its JSON logs captured.
import { Writable } from "node:stream";

import { Engine } from "@wenxin/engine";
import OpenAI from "openai";
import { pino } from "pino";
import { afterAll, beforeAll } from "vitest";

import { startServer, type StartServerOptions, type WenxinServer } from "../../src/index.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

export const MODEL_ID = "tiny-dense";

export interface TestServer {
  server: WenxinServer;
  url: string;
  /** `${url}/v1`, what OpenAI clients take as baseURL. */
  baseURL: string;
  /** Parsed pino lines. */
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

export function loadDense(): Promise<Engine> {
  return Engine.load(DENSE_DIR, { threads: 1 });
}

export async function startTestServer(
  model: StartServerOptions["model"],
  options: Omit<StartServerOptions, "model" | "logger"> = {},
): Promise<TestServer> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const server = await startServer({
    model,
    host: "127.0.0.1",
    port: 0,
    modelName: MODEL_ID,
    logger: pino({ level: "info" }, sink),
    ...options,
  });
  return { server, url: server.url, baseURL: `${server.url}/v1`, logs, stop: () => server.drain() };
}

/** What `useDenseServer` starts: read its fields inside the tests (they are set before them). */
export interface DenseServer {
  engine: Engine;
  srv: TestServer;
  /** An `openai` client of `srv` (no retries). */
  client: OpenAI;
}

/**
 * The tiny dense engine and a test server on it with `options`, for the tests of one file (or
 * `describe` block): started before them, stopped and closed after.
 */
export function useDenseServer(options: Omit<StartServerOptions, "model" | "logger"> = {}): DenseServer {
  const ctx = {} as DenseServer;
  beforeAll(async () => {
    ctx.engine = await loadDense();
    ctx.srv = await startTestServer(ctx.engine, options);
    ctx.client = new OpenAI({ baseURL: ctx.srv.baseURL, apiKey: "unused", maxRetries: 0 });
  });
  afterAll(async () => {
    await ctx.srv?.stop();
    await ctx.engine?.close();
  });
  return ctx;
}

/** Starts a POST of JSON and returns the response without reading its body. */
export function startPost(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
}

/** POSTs JSON and returns the status, headers and parsed (or raw) body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Reads a streaming response until `until` holds for the text so far; returns the text and the reader. */
export async function readUntil(res: Response, until: (text: string) => boolean) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!until(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return { text, reader, decoder };
}

/** Reads the rest of a streaming response. */
export async function readRest(state: {
  text: string;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  decoder: TextDecoder;
}): Promise<string> {
  let text = state.text;
  for (;;) {
    const { value, done } = await state.reader.read();
    if (done) return text + state.decoder.decode();
    text += state.decoder.decode(value, { stream: true });
  }
}

/** Splits an SSE body into its `data:` payloads (skipping comments), checking the framing on the way. */
export function sseData(body: string): string[] {
  if (!body.endsWith("\n\n"))
    throw new Error(`SSE body does not end with a blank line: ${JSON.stringify(body.slice(-40))}`);
  return body
    .slice(0, -2)
    .split("\n\n")
    .filter((frame) => !frame.startsWith(": ")) // keep-alive comments
    .map((frame) => {
      if (!frame.startsWith("data: ") || frame.includes("\n"))
        throw new Error(`malformed SSE frame: ${JSON.stringify(frame)}`);
      return frame.slice("data: ".length);
    });
}
