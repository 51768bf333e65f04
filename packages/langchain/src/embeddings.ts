/**
 * WenxinEmbeddings: sentence embeddings from ERNIE 4.5 for LangChain vector stores.
 *
 * Local mode: the final-RMSNorm hidden states of the text's tokens, mean-pooled and L2-normalised
 * (unit length, so cosine similarity is a dot product), `hidden_size` numbers per text. Texts go to
 * the engine `batchSize` at a time; each call embeds its texts together as parallel sequences.
 * Remote mode: the server's `/embeddings` endpoint (its own pooling and normalisation).
 */
import { Embeddings, type EmbeddingsParams } from "@langchain/core/embeddings";
import { getEnvironmentVariable } from "@langchain/core/utils/env";
import { Engine, WenxinError, type LoadOptions } from "@wenxin/engine";
import { embedRemote, getSharedEngine, type RemotePost } from "@wenxin/engine/internal";

import { OpenAICompatibleClient } from "./remote/openai_client.js";
import { parseOptions, wenxinEmbeddingsFieldsSchema, type WenxinEmbeddingsFields } from "./types.js";

export type WenxinEmbeddingsInput = WenxinEmbeddingsFields & EmbeddingsParams;

export class WenxinEmbeddings extends Embeddings {
  /** The checkpoint directory (local) or the served model name (remote). */
  readonly model: string;
  readonly batchSize: number;
  readonly load?: LoadOptions;
  readonly baseUrl?: string;

  private readonly givenEngine?: Engine;
  private readonly post?: RemotePost;

  constructor(fields: WenxinEmbeddingsInput) {
    const { maxConcurrency, maxRetries, onFailedAttempt, ...own } = fields;
    super({ maxConcurrency, maxRetries, onFailedAttempt });
    const f = parseOptions(wenxinEmbeddingsFieldsSchema, own, "WenxinEmbeddings");
    if (f.model instanceof Engine) {
      this.givenEngine = f.model;
      this.model = f.model.dir;
    } else {
      this.model = f.model;
    }
    this.batchSize = f.batchSize;
    this.load = f.load;
    this.baseUrl = f.baseUrl;
    if (f.baseUrl) {
      const apiKey = f.apiKey ?? getEnvironmentVariable("WENXIN_API_KEY");
      this.post = OpenAICompatibleClient.poster({
        baseUrl: f.baseUrl,
        ...(apiKey ? { apiKey } : {}),
        ...(f.headers ? { headers: f.headers } : {}),
        caller: this.caller,
      });
    }
  }

  /** One vector per text, in order. */
  async embedDocuments(texts: string[]): Promise<number[][]> {
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string"))
      throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", "embedDocuments expects an array of strings", {
        subject: "texts",
      });
    const batches: string[][] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) batches.push(texts.slice(i, i + this.batchSize));
    const results = await Promise.all(batches.map((batch) => this.embedBatch(batch)));
    return results.flat();
  }

  async embedQuery(text: string): Promise<number[]> {
    const [vector] = await this.embedDocuments([text]);
    return vector!;
  }

  private async embedBatch(texts: string[]): Promise<number[][]> {
    if (this.post) return (await embedRemote(this.post, this.model, texts)).embeddings;
    // Local: no retries (an engine error is not transient); the engine batches the texts itself.
    const engine = this.givenEngine ?? (await getSharedEngine(this.model, this.load));
    const vectors = await engine.embed(texts);
    return vectors.map((v) => Array.from(v));
  }
}
