/**
 * Typed errors of @wenxin/engine. Every failure the engine reports carries a stable `code`
 * (also used by the native addon, see native/include/wenxin/status.h) and says whether the
 * engine stays usable afterwards (`recoverable`: a failed request leaves the engine serving).
 */
export const ERROR_CODES = [
  "ERR_WENXIN_FILE_NOT_FOUND",
  "ERR_WENXIN_INVALID_CONFIG",
  "ERR_WENXIN_UNKNOWN_ARCHITECTURE",
  "ERR_WENXIN_UNSUPPORTED_DTYPE",
  "ERR_WENXIN_MISSING_TENSOR",
  "ERR_WENXIN_SHAPE_MISMATCH",
  "ERR_WENXIN_INVALID_FILE",
  "ERR_WENXIN_TOKENIZER",
  "ERR_WENXIN_CHAT_TEMPLATE",
  "ERR_WENXIN_CONTEXT_OVERFLOW",
  "ERR_WENXIN_TOKEN_OUT_OF_RANGE",
  "ERR_WENXIN_KV_CACHE_FULL",
  "ERR_WENXIN_INVALID_ARGUMENT",
  "ERR_WENXIN_ABORTED",
  "ERR_WENXIN_ENGINE_CLOSED",
  "ERR_WENXIN_INTERNAL",
  // WENXIN_ISA names a kernel path this build or CPU cannot run (the message lists what it can).
  "ERR_WENXIN_UNSUPPORTED_ISA",
  // No native addon could be loaded (not installed, no prebuilt binary for this platform, not built):
  // only a local model needs it.
  "ERR_WENXIN_NATIVE_UNAVAILABLE",
  // Model hub (hub/): access refused (gated/private repo, bad token), hub unreachable.
  "ERR_WENXIN_HUB_UNAUTHORIZED",
  "ERR_WENXIN_NETWORK",
] as const;

export type WenxinErrorCode = (typeof ERROR_CODES)[number];

/** Codes after which the engine itself is no longer usable. */
const FATAL_CODES: ReadonlySet<WenxinErrorCode> = new Set(["ERR_WENXIN_ENGINE_CLOSED", "ERR_WENXIN_INTERNAL"]);

export interface WenxinErrorDetails {
  /** What was expected (a shape, a limit, a dtype), when the error is a mismatch. */
  expected?: unknown;
  /** What was found instead. */
  actual?: unknown;
  /** The file, tensor or option the error is about. */
  subject?: string;
}

export class WenxinError extends Error {
  readonly code: WenxinErrorCode;
  readonly recoverable: boolean;
  readonly details: WenxinErrorDetails;

  constructor(code: WenxinErrorCode, message: string, details: WenxinErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WenxinError";
    this.code = code;
    this.recoverable = !FATAL_CODES.has(code);
    this.details = details;
  }
}

export function isWenxinErrorCode(code: unknown): code is WenxinErrorCode {
  return typeof code === "string" && (ERROR_CODES as readonly string[]).includes(code);
}

/** Wraps an error thrown by the native addon (which carries `.code`) into a WenxinError. */
export function fromNativeError(err: unknown): WenxinError {
  if (err instanceof WenxinError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = isWenxinErrorCode(e?.code) ? e.code : "ERR_WENXIN_INTERNAL";
  const message = typeof e?.message === "string" ? e.message : String(err);
  return new WenxinError(code, message, {}, { cause: err });
}

/** A file that could not be opened or read: FILE_NOT_FOUND when it is missing, else INVALID_FILE. */
export function fileReadError(file: string, err: unknown, verb = "read"): WenxinError {
  const code =
    (err as NodeJS.ErrnoException).code === "ENOENT" ? "ERR_WENXIN_FILE_NOT_FOUND" : "ERR_WENXIN_INVALID_FILE";
  return new WenxinError(code, `cannot ${verb} ${file}: ${(err as Error).message}`, { subject: file }, { cause: err });
}
