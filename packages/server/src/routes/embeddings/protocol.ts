/** /v1/embeddings on the wire. */
import { z } from "zod";

import { textInputsSchema } from "../text_inputs.js";

export const embeddingRequestSchema = z.object({
  model: z.string().min(1),
  /** A text, a list of texts, a token-id list, or a list of token-id lists (count and tokens: the server's options). */
  input: textInputsSchema,
  /** The official client asks for base64 unless told otherwise. */
  encoding_format: z.enum(["float", "base64"]).nullish(),
  dimensions: z.number().int().min(1).nullish(),
  user: z.string().nullish(),
});
export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>;

export interface EmbeddingList {
  object: "list";
  data: { object: "embedding"; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}
