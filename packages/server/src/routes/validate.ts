import type { z } from "zod";

import { badRequest } from "../errors.js";

/** `messages.0.content` → `messages[0].content`, as OpenAI names parameters in errors. */
function paramName(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

function valueAt(body: unknown, path: PropertyKey[]): unknown {
  let v: unknown = body;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/**
 * The issue to report: for a value that matched no branch of a union, the issue of the branch that
 * got furthest into it (`input[0].type` rather than just `input`).
 */
function deepestIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue;
  let best: z.core.$ZodIssue = issue;
  for (const branch of issue.errors)
    for (const inner of branch) {
      const candidate = deepestIssue({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue);
      if (candidate.path.length > best.path.length) best = candidate;
    }
  return best;
}

/** Parses a request body, or throws a 400 that names the first offending parameter. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw badRequest("the request body must be a JSON object", null, "invalid_json");
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = deepestIssue(r.error.issues[0]!);
  const param = paramName(issue.path);
  if (valueAt(body, issue.path) === undefined)
    throw badRequest(`'${param}' is required`, param, "missing_required_parameter");
  throw badRequest(`'${param}': ${issue.message}`, param || null);
}
