/**
 * Remote mode's HTTP: JSON POSTs to an OpenAI-compatible server. Failures are APICallErrors,
 * retryable for network errors, 408, 409, 429 and 5xx, so the AI SDK's `maxRetries` retries them
 * (a stream is retried only until it starts: the POST happens before doStream returns).
 */
import { APICallError } from "@ai-sdk/provider";
import { extractResponseHeaders, isAbortError, type FetchFunction } from "@ai-sdk/provider-utils";
import type { RemotePost } from "@wenxin/engine/internal";

export interface FetchPostOptions {
  baseURL: string;
  headers: () => Record<string, string | undefined>;
  fetch?: FetchFunction;
}

/** The server's own message from an OpenAI-shaped `{ error: {...} }` or vLLM's flat error body. */
function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const detail = typeof parsed.error === "string" ? parsed.error : (parsed.error?.message ?? parsed.message);
    if (typeof detail === "string") return detail;
  } catch {
    // not JSON: the text itself
  }
  return body.slice(0, 500);
}

export function fetchPost(options: FetchPostOptions): RemotePost {
  const baseURL = options.baseURL.replace(/\/+$/, "");
  return async (path, body, signal) => {
    const url = `${baseURL}${path}`;
    const headers = Object.fromEntries(
      Object.entries({
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...options.headers(),
      }).filter((e): e is [string, string] => e[1] !== undefined),
    );
    let res: Response;
    try {
      // The global fetch is looked up per call, so one patched later (tests, proxies) is used.
      res = await (options.fetch ?? globalThis.fetch)(url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (isAbortError(err)) throw err;
      throw new APICallError({
        message: `cannot reach ${url}: ${(err as Error).message}`,
        url,
        requestBodyValues: body,
        cause: err,
        isRetryable: true,
      });
    }
    if (res.ok) return res;
    const responseBody = await res.text().catch(() => "");
    throw new APICallError({
      message: `${url} answered ${res.status} ${res.statusText}: ${errorMessage(responseBody)}`.trim(),
      url,
      requestBodyValues: body,
      statusCode: res.status,
      responseHeaders: extractResponseHeaders(res),
      responseBody,
    });
  };
}
