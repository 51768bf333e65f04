/**
 * The input shape /v1/completions (`prompt`) and /v1/embeddings (`input`) share: a text, a
 * token-id list, or a list of either. Its wire schema and the one function that lists the items.
 */
import { z } from "zod";

const tokenIds = z.array(z.number().int().min(0)).min(1);

/** A text, a list of texts, a token-id list, or a list of token-id lists; the server's options bound the count. */
export const textInputsSchema = z.union([z.string(), z.array(z.string()).min(1), tokenIds, z.array(tokenIds).min(1)]);
export type TextInputs = z.infer<typeof textInputsSchema>;

/** The items of a text-inputs field, each a text or a token-id list. */
export function textInputList(raw: TextInputs): (string | number[])[] {
  return typeof raw === "string"
    ? [raw]
    : typeof raw[0] === "number"
      ? [raw as number[]]
      : (raw as (string | number[])[]);
}
