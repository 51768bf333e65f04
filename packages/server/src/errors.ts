/**
 * Errors as OpenAI clients expect them: an HTTP status and a body
 * `{ error: { message, type, param, code } }`. Every failure the server answers goes through
 * `toApiError`, so the mapping from engine codes to statuses lives in one table here.
 */
import { WenxinError, type WenxinErrorCode } from "@wenxin/engine";

import { clip, MESSAGE_CHARS, QUOTE_CHARS } from "./clip.js";

/** The error `type` values this server sends (OpenAI's, where OpenAI has one). */
export type ApiErrorType = "invalid_request_error" | "rate_limit_error" | "service_unavailable_error" | "server_error";

export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/**
 * A failure with the status and body the client gets. Message and parameter name are clipped: both
 * may quote what the client sent, and both are logged.
 */
export class ApiError extends Error {
  readonly param: string | null;

  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    message: string,
    readonly code: string | null = null,
    param: string | null = null,
  ) {
    super(clip(message, MESSAGE_CHARS));
    this.name = "ApiError";
    this.param = param === null ? null : clip(param, QUOTE_CHARS * 2);
  }

  toBody(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param: string | null = null, code = "invalid_value") =>
  new ApiError(400, "invalid_request_error", message, code, param);

export const unsupported = (param: string, what: string) =>
  new ApiError(
    400,
    "invalid_request_error",
    `${what} is not supported by this server yet`,
    "unsupported_parameter",
    param,
  );

/** Status and OpenAI code per engine error code: the one place that decides them. */
const ENGINE_ERRORS: Partial<Record<WenxinErrorCode, { status: number; type: ApiErrorType; code: string }>> = {
  ERR_WENXIN_INVALID_ARGUMENT: { status: 400, type: "invalid_request_error", code: "invalid_value" },
  ERR_WENXIN_CONTEXT_OVERFLOW: { status: 400, type: "invalid_request_error", code: "context_length_exceeded" },
  ERR_WENXIN_TOKEN_OUT_OF_RANGE: { status: 400, type: "invalid_request_error", code: "invalid_value" },
  ERR_WENXIN_TOKENIZER: { status: 400, type: "invalid_request_error", code: "invalid_value" },
  ERR_WENXIN_CHAT_TEMPLATE: { status: 400, type: "invalid_request_error", code: "invalid_messages" },
  ERR_WENXIN_KV_CACHE_FULL: { status: 503, type: "service_unavailable_error", code: "kv_cache_full" },
  ERR_WENXIN_ENGINE_CLOSED: { status: 503, type: "service_unavailable_error", code: "engine_closed" },
  // The client went away: nobody reads this answer; 499 keeps it apart in logs and metrics.
  ERR_WENXIN_ABORTED: { status: 499, type: "invalid_request_error", code: "client_closed_request" },
  ERR_WENXIN_FILE_NOT_FOUND: { status: 500, type: "server_error", code: "internal_error" },
  ERR_WENXIN_INVALID_CONFIG: { status: 500, type: "server_error", code: "internal_error" },
  ERR_WENXIN_UNKNOWN_ARCHITECTURE: { status: 500, type: "server_error", code: "internal_error" },
  ERR_WENXIN_UNSUPPORTED_DTYPE: { status: 500, type: "server_error", code: "internal_error" },
  ERR_WENXIN_MISSING_TENSOR: { status: 500, type: "server_error", code: "internal_error" },
  ERR_WENXIN_SHAPE_MISMATCH: { status: 500, type: "server_error", code: "internal_error" },
  ERR_WENXIN_INVALID_FILE: { status: 500, type: "server_error", code: "internal_error" },
  ERR_WENXIN_INTERNAL: { status: 500, type: "server_error", code: "internal_error" },
};

/** Fastify's own error codes that reach the error handler, and what the client sees for them. */
const FASTIFY_ERRORS: Record<string, { status: number; code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: "request_too_large",
    message: "the request body is larger than the server accepts",
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: "invalid_json" },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: "invalid_json",
    message: "the request body is empty; send a JSON object",
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: "invalid_request" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 400, code: "invalid_content_type" },
};

/**
 * Turns anything thrown while serving into the error the client gets. Messages of internal
 * failures are replaced, so no stack, path or native detail leaks out.
 */
export function toApiError(err: unknown, requestId?: string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof WenxinError) {
    const m = ENGINE_ERRORS[err.code];
    if (!m || (m.status >= 500 && m.status !== 503)) return internalError(requestId);
    return new ApiError(m.status, m.type, err.message, m.code, err.details.subject ?? null);
  }
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown } | undefined;
  const fastify = typeof e?.code === "string" ? FASTIFY_ERRORS[e.code] : undefined;
  if (fastify) {
    return new ApiError(
      fastify.status,
      "invalid_request_error",
      fastify.message ?? String(e?.message ?? "malformed request"),
      fastify.code,
    );
  }
  // Other 4xx from fastify (bad headers, unsupported method…) keep their status and message.
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500 && typeof e.message === "string")
    return new ApiError(e.statusCode, "invalid_request_error", e.message, "invalid_request");
  return internalError(requestId);
}

function internalError(requestId: string | undefined): ApiError {
  const ref = requestId ? ` (request id ${requestId})` : "";
  return new ApiError(500, "server_error", `the server failed to process the request${ref}`, "internal_error");
}
