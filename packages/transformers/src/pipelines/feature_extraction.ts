/**
 * pipeline("feature-extraction"): the final-norm hidden states of each text, per token or pooled
 * (mean, first or last token), optionally L2-normalised, as a Tensor like transformers.js returns.
 * mean + normalize is the engine's batched embed(); other poolings read the hidden states.
 */
import { WenxinError } from "@wenxin/engine";
import { z } from "zod";

import { parseOptions } from "../utils/options.js";
import { Tensor } from "../utils/tensor.js";
import { Pipeline, engineOf } from "./pipeline_base.js";

const optionsSchema = z
  .object({
    /** "none" (default): one vector per token, dims [batch, tokens, hidden], shorter texts zero-padded. */
    pooling: z.enum(["none", "mean", "cls", "first_token", "eos", "last_token"]).optional(),
    /** L2-normalise each vector. */
    normalize: z.boolean().optional(),
  })
  .strict();

export type FeatureExtractionOptions = z.infer<typeof optionsSchema>;

function normalizeRows(data: Float32Array, width: number): void {
  for (let off = 0; off < data.length; off += width) {
    let sum = 0;
    for (let i = 0; i < width; i++) sum += data[off + i]! ** 2;
    const norm = Math.sqrt(sum);
    if (norm > 0) for (let i = 0; i < width; i++) data[off + i]! /= norm;
  }
}

export interface FeatureExtractionPipeline {
  (texts: string | string[], options?: FeatureExtractionOptions): Promise<Tensor<Float32Array>>;
}

export class FeatureExtractionPipeline extends Pipeline<[string | string[], FeatureExtractionOptions?], Tensor> {
  protected async _call(input: string | string[], options?: FeatureExtractionOptions): Promise<Tensor<Float32Array>> {
    const { pooling = "none", normalize = false } = parseOptions(optionsSchema, options, "feature-extraction options");
    const texts = typeof input === "string" ? [input] : input;
    if (!Array.isArray(texts) || texts.length === 0 || texts.some((t) => typeof t !== "string"))
      throw new WenxinError(
        "ERR_WENXIN_INVALID_ARGUMENT",
        "feature-extraction expects a string or a non-empty array of strings",
      );
    const engine = engineOf(this.model);
    const hidden = engine.config.hparams.hiddenSize;
    if (pooling === "mean" && normalize) {
      const vectors = await engine.embed(texts);
      const data = new Float32Array(texts.length * hidden);
      vectors.forEach((v, i) => data.set(v, i * hidden));
      return new Tensor(data, [texts.length, hidden]);
    }
    const states = await Promise.all(
      texts.map(async (text, i) => {
        const ids = this.tokenizer.encode(text);
        if (ids.length === 0)
          throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `text ${i} encodes to no tokens`, {
            subject: `texts[${i}]`,
          });
        const { hiddenStates } = await engine.inspect(ids);
        return { tokens: ids.length, values: hiddenStates[hiddenStates.length - 1]! };
      }),
    );
    let out: Tensor<Float32Array>;
    if (pooling === "none") {
      const width = Math.max(...states.map((s) => s.tokens));
      const data = new Float32Array(texts.length * width * hidden);
      states.forEach((s, i) => data.set(s.values, i * width * hidden));
      out = new Tensor(data, [texts.length, width, hidden]);
    } else {
      const data = new Float32Array(texts.length * hidden);
      states.forEach((s, i) => {
        const row = data.subarray(i * hidden, (i + 1) * hidden);
        if (pooling === "mean") {
          for (let t = 0; t < s.tokens; t++)
            for (let h = 0; h < hidden; h++) row[h]! += s.values[t * hidden + h]! / s.tokens;
        } else {
          const t = pooling === "cls" || pooling === "first_token" ? 0 : s.tokens - 1;
          row.set(s.values.subarray(t * hidden, (t + 1) * hidden));
        }
      });
      out = new Tensor(data, [texts.length, hidden]);
    }
    if (normalize) normalizeRows(out.data as Float32Array, hidden);
    return out;
  }
}
