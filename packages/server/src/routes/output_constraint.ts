/**
 * A request's output constraint (response_format / text.format json_schema, forced tool calls),
 * compiled before the request is admitted: on the engine's worker threads, so that a costly schema
 * never holds the event loop (`/health`, other requests, SIGTERM), and within the server's grammar
 * size and compile time limits, past which the client gets a 400 naming the schema path. The
 * keywords relaxed on the way are returned for the response's `warnings`. A compile still running
 * when the server closes (`signal`) is stopped, so that it does not hold the process.
 */
import type { Constraint, Engine } from "@wenxin/engine";

import { clip, MESSAGE_CHARS } from "../clip.js";
import type { ServerOptions } from "../options.js";

/** Most warnings one response carries (each names a schema path, so a big schema could have thousands). */
const MAX_WARNINGS = 32;

export async function compileOutputConstraint(
  engine: Engine,
  constraint: Constraint | undefined,
  options: Pick<ServerOptions, "maxGrammarSize" | "grammarTimeoutMs">,
  signal?: AbortSignal,
): Promise<string[]> {
  if (!constraint) return [];
  let warnings: string[];
  try {
    warnings = await engine.prepareConstraint(
      constraint,
      { maxGrammarSize: options.maxGrammarSize, timeoutMs: options.grammarTimeoutMs },
      signal,
    );
  } catch (err) {
    throw signal?.aborted ? signal.reason : err; // the server's 503 server_draining, not the engine's abort
  }
  const shown = warnings.slice(0, MAX_WARNINGS).map((w) => clip(w, MESSAGE_CHARS));
  if (warnings.length > MAX_WARNINGS) shown.push(`…and ${warnings.length - MAX_WARNINGS} more relaxed keywords`);
  return shown;
}

/** `{ warnings }` when there are any (spread into a response object), else nothing. */
export function warningsField(warnings: string[]): { warnings?: string[] } {
  return warnings.length > 0 ? { warnings } : {};
}
