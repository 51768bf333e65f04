/**
 * A small client for OpenAI-compatible servers (our own `wenxin serve`, vLLM, FastDeploy), on
 * Node's fetch. Requests go through LangChain's AsyncCaller, which retries network failures,
 * 429s and 5xx (honouring Retry-After) and not other 4xx; a stream is never retried once it has
 * started, since its tokens were already handed out.
 */
import type { AsyncCaller } from "@langchain/core/utils/async_caller";

import { WenxinRemoteError, type RemotePost } from "@wenxin/engine/internal";

export interface OpenAIClientOptions {
  baseUrl: string;
  apiKey?: string;
  headers?: Record<string, string>;
  caller: AsyncCaller;
}

export class OpenAICompatibleClient {
  private readonly baseUrl: string;

  constructor(private readonly options: OpenAIClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
  }

  /** A client's `post` as the shared remote chat backend takes it. */
  static poster(options: OpenAIClientOptions): RemotePost {
    const client = new OpenAICompatibleClient(options);
    return (path, body, signal) => client.post(path, body, signal);
  }

  /** POSTs JSON to `path` (e.g. "/chat/completions"); resolves with the OK response. */
  post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...this.options.headers,
    };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const attempt = async (): Promise<Response> => {
      const res = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      });
      if (!res.ok) throw await WenxinRemoteError.fromResponse(url, res);
      return res;
    };
    return signal ? this.options.caller.callWithOptions({ signal }, attempt) : this.options.caller.call(attempt);
  }
}
