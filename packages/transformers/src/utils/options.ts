import { WenxinError } from "@wenxin/engine";
import type { z } from "zod";

/** Validates an options object with its zod schema; a bad option is ERR_WENXIN_INVALID_ARGUMENT naming it. */
export function parseOptions<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length > 0 ? `'${issue.path.join(".")}' ` : "";
    const unknown =
      issue.code === "unrecognized_keys"
        ? `unknown option(s) ${issue.keys.map((k) => `'${k}'`).join(", ")}`
        : issue.message;
    throw new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", `${what}: ${where}${unknown}`, {
      subject: issue.path.join(".") || undefined,
    });
  }
  return r.data;
}
