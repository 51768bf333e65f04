/**
 * Hub failures as WenxinErrors whose message says what to do. The hub names the problem in the
 * `X-Error-Code` header (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo), as Python's
 * huggingface_hub reads it; the status code alone is ambiguous (a private repo answers 401 too).
 */
import { WenxinError, type WenxinErrorCode } from "../errors.js";

export type HubErrorReason =
  | "repo_not_found"
  | "revision_not_found"
  | "entry_not_found"
  | "gated"
  | "unauthorized"
  | "not_cached"
  | "network"
  | "http"
  | "inconsistent";

export class HubError extends WenxinError {
  readonly reason: HubErrorReason;
  /** HTTP status, when the hub answered. */
  readonly status: number | undefined;

  constructor(
    code: WenxinErrorCode,
    reason: HubErrorReason,
    message: string,
    options: { status?: number; subject?: string; cause?: unknown } = {},
  ) {
    super(code, message, { subject: options.subject }, { cause: options.cause });
    this.name = "HubError";
    this.reason = reason;
    this.status = options.status;
  }
}

export interface RequestContext {
  repoId: string;
  revision: string;
  filename?: string;
  url: string;
  tokenSent: boolean;
}

const TOKEN_HINT = "set HF_TOKEN (or pass { token }) to a token of an account that has access";

/** Turns a non-2xx/3xx hub answer into a HubError. */
export function hubErrorFromResponse(res: Response, ctx: RequestContext): HubError {
  const errorCode = res.headers.get("x-error-code");
  const serverMessage = res.headers.get("x-error-message");
  const status = res.status;
  const subject = ctx.filename ? `${ctx.repoId}/${ctx.filename}` : ctx.repoId;
  const opts = { status, subject };
  const said = serverMessage ? ` (hub: ${serverMessage})` : "";

  if (errorCode === "GatedRepo") {
    return new HubError(
      "ERR_WENXIN_HUB_UNAUTHORIZED",
      "gated",
      `${ctx.repoId} is a gated repository: accept its terms at ${new URL(ctx.url).origin}/${ctx.repoId} and ${TOKEN_HINT}` +
        (ctx.tokenSent ? "; the token that was sent does not have access yet" : "") +
        said,
      opts,
    );
  }
  if (errorCode === "RepoNotFound" || (status === 401 && !errorCode && !ctx.tokenSent)) {
    return new HubError(
      "ERR_WENXIN_FILE_NOT_FOUND",
      "repo_not_found",
      `repository '${ctx.repoId}' was not found on ${new URL(ctx.url).origin}` +
        (ctx.tokenSent ? " (or the token that was sent has no access to it)" : ` (if it is private, ${TOKEN_HINT})`) +
        said,
      opts,
    );
  }
  if (errorCode === "RevisionNotFound") {
    return new HubError(
      "ERR_WENXIN_FILE_NOT_FOUND",
      "revision_not_found",
      `revision '${ctx.revision}' does not exist in ${ctx.repoId}${said}`,
      opts,
    );
  }
  if (errorCode === "EntryNotFound" || (status === 404 && ctx.filename)) {
    return new HubError(
      "ERR_WENXIN_FILE_NOT_FOUND",
      "entry_not_found",
      `${ctx.filename ?? "the file"} does not exist in ${ctx.repoId} at revision '${ctx.revision}'${said}`,
      opts,
    );
  }
  if (status === 401 || status === 403) {
    return new HubError(
      "ERR_WENXIN_HUB_UNAUTHORIZED",
      "unauthorized",
      (ctx.tokenSent
        ? `the hub refused the token for ${ctx.repoId} (HTTP ${status}); check HF_TOKEN`
        : `${ctx.repoId} needs authentication (HTTP ${status}); ${TOKEN_HINT}`) + said,
      opts,
    );
  }
  if (status === 404)
    return new HubError(
      "ERR_WENXIN_FILE_NOT_FOUND",
      "repo_not_found",
      `${ctx.url} was not found (HTTP 404)${said}`,
      opts,
    );
  return new HubError("ERR_WENXIN_NETWORK", "http", `the hub answered HTTP ${status} for ${ctx.url}${said}`, opts);
}

/** A request that never got an answer (no network, DNS failure, refused connection, timeout). */
export function networkError(url: string, err: unknown): HubError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const why =
    e?.name === "TimeoutError" || e?.name === "AbortError"
      ? "timed out"
      : (e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err));
  return new HubError("ERR_WENXIN_NETWORK", "network", `cannot reach ${new URL(url).origin} (${why})`, {
    subject: url,
    cause: err,
  });
}
