import type { z } from "zod";

import { WenxinError, type WenxinErrorCode } from "./errors.js";

/**
 * The one zod parse-or-throw of every package: `value` parsed by `schema`, or a WenxinError (by
 * default ERR_WENXIN_INVALID_ARGUMENT) whose message starts with `what` and names the first bad
 * option: "`what`: 'path' message", unknown keys listed by name.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
  code: WenxinErrorCode = "ERR_WENXIN_INVALID_ARGUMENT",
): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.join(".");
  const message =
    issue.code === "unrecognized_keys"
      ? `unknown option(s) ${issue.keys.map((k) => `'${k}'`).join(", ")}`
      : issue.message;
  throw new WenxinError(code, `${what}: ${where ? `'${where}' ` : ""}${message}`, { subject: where || undefined });
}
