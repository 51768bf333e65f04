/**
 * Embeddings from an OpenAI-compatible server's `/embeddings` endpoint (its own pooling and
 * normalisation), in input order.
 */
import type { RemotePost } from "./remote_chat.js";
import { WenxinRemoteError } from "./remote_error.js";

export interface RemoteEmbeddings {
  embeddings: number[][];
  /** Tokens the server counted, when it says. */
  promptTokens: number | undefined;
}

export async function embedRemote(
  post: RemotePost,
  model: string,
  texts: string[],
  signal?: AbortSignal,
): Promise<RemoteEmbeddings> {
  const res = await post("/embeddings", { model, input: texts, encoding_format: "float" }, signal);
  const body = (await res.json()) as {
    data?: { index?: number; embedding?: unknown }[];
    usage?: { prompt_tokens?: unknown };
  };
  const data = body.data;
  if (!Array.isArray(data) || data.length !== texts.length || data.some((d) => !Array.isArray(d.embedding)))
    throw new WenxinRemoteError(
      "ERR_WENXIN_REMOTE_STREAM",
      `the server's /embeddings reply does not hold ${texts.length} embeddings`,
      { status: res.status },
    );
  const promptTokens = body.usage?.prompt_tokens;
  return {
    embeddings: [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((d) => d.embedding as number[]),
    promptTokens: typeof promptTokens === "number" ? promptTokens : undefined,
  };
}
