/**
 * ERNIE 4.5 sentence embeddings as an AI SDK EmbeddingModelV3. Local mode: the final-norm hidden
 * states, mean-pooled and L2-normalised (unit length: cosine similarity is a dot product), the
 * texts of one call embedded together as parallel sequences. Remote mode: the server's
 * `/embeddings`.
 */
import {
  TooManyEmbeddingValuesForCallError,
  type EmbeddingModelV3,
  type EmbeddingModelV3CallOptions,
  type EmbeddingModelV3Result,
} from "@ai-sdk/provider";
import { embedRemote } from "@wenxin/engine/internal";

import type { ModelSource } from "../model_source.js";

const DEFAULT_MAX_PER_CALL = 32;

export class WenxinEmbeddingModel implements EmbeddingModelV3 {
  readonly specificationVersion = "v3";
  readonly provider = "wenxin.embedding";
  readonly maxEmbeddingsPerCall: number;
  /** Parallel calls are batched by the engine (local) or the server (remote). */
  readonly supportsParallelCalls = true;

  constructor(
    readonly modelId: string,
    settings: { maxEmbeddingsPerCall?: number },
    private readonly source: ModelSource,
  ) {
    this.maxEmbeddingsPerCall = settings.maxEmbeddingsPerCall ?? DEFAULT_MAX_PER_CALL;
  }

  async doEmbed({ values, abortSignal }: EmbeddingModelV3CallOptions): Promise<EmbeddingModelV3Result> {
    if (values.length > this.maxEmbeddingsPerCall)
      throw new TooManyEmbeddingValuesForCallError({
        provider: this.provider,
        modelId: this.modelId,
        maxEmbeddingsPerCall: this.maxEmbeddingsPerCall,
        values,
      });
    abortSignal?.throwIfAborted();
    if (this.source.mode === "remote") {
      const { embeddings, promptTokens } = await embedRemote(this.source.post, this.modelId, values, abortSignal);
      return { embeddings, ...(promptTokens !== undefined ? { usage: { tokens: promptTokens } } : {}), warnings: [] };
    }
    const engine = await this.source.engine();
    const vectors = await engine.embed(values);
    abortSignal?.throwIfAborted();
    const tokens = values.reduce((sum, text) => sum + engine.tokenizer.encode(text).length, 0);
    return { embeddings: vectors.map((v) => Array.from(v)), usage: { tokens }, warnings: [] };
  }
}
