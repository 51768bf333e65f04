import { parseOrThrow } from "@wenxin/engine/internal";
import type { z } from "zod";

/** Validates an options object with its zod schema; a bad option is ERR_WENXIN_INVALID_ARGUMENT naming it. */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  return parseOrThrow(schema, value ?? {}, what);
}
