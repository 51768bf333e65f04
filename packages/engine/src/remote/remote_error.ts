/**
 * The error of a remote OpenAI-compatible server (our own `wenxin serve`, vLLM, FastDeploy): an
 * error status, or a stream we cannot read. Carries what retry policies look at (status,
 * Retry-After through the headers).
 */
export type WenxinRemoteErrorCode = "ERR_WENXIN_REMOTE_HTTP" | "ERR_WENXIN_REMOTE_STREAM";

/** A remote server answered with an error status, or sent a stream we cannot read. */
export class WenxinRemoteError extends Error {
  readonly code: WenxinRemoteErrorCode;
  /** The HTTP status (0 for a broken stream). */
  readonly status: number;
  /** The server's own error type / code from an OpenAI-shaped `{ error: {...} }` body. */
  readonly errorType: string | undefined;
  /** Response headers (AsyncCaller reads `retry-after` from them). */
  readonly headers: Headers | undefined;

  constructor(
    code: WenxinRemoteErrorCode,
    message: string,
    init: { status?: number; errorType?: string; headers?: Headers; cause?: unknown } = {},
  ) {
    super(message, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.name = "WenxinRemoteError";
    this.code = code;
    this.status = init.status ?? 0;
    this.errorType = init.errorType;
    this.headers = init.headers;
  }

  static async fromResponse(url: string, res: Response): Promise<WenxinRemoteError> {
    const text = await res.text().catch(() => "");
    let message = text.slice(0, 500);
    let errorType: string | undefined;
    try {
      // OpenAI's `{ error: {message, type, code} }`, or vLLM's flat `{ object: "error", message, type, code }`.
      type ErrorFields = { message?: unknown; type?: unknown; code?: unknown };
      const body = JSON.parse(text) as ErrorFields & { error?: ErrorFields | string };
      const err: ErrorFields = typeof body.error === "object" && body.error !== null ? body.error : body;
      const detail = typeof body.error === "string" ? body.error : err.message;
      if (typeof detail === "string") message = detail;
      const type = err.type ?? err.code;
      if (typeof type === "string" || typeof type === "number") errorType = String(type);
    } catch {
      // not JSON: keep the text
    }
    return new WenxinRemoteError(
      "ERR_WENXIN_REMOTE_HTTP",
      `${url} answered ${res.status} ${res.statusText}: ${message}`.trim(),
      {
        status: res.status,
        ...(errorType !== undefined ? { errorType } : {}),
        headers: res.headers,
      },
    );
  }
}
