import { describe, expect, it } from "vitest";

import { WenxinError } from "@wenxin/engine";

import { ApiError, toApiError } from "../src/errors.js";

describe("toApiError", () => {
  it("maps engine codes to statuses from one table", () => {
    const cases: [ConstructorParameters<typeof WenxinError>[0], number, string][] = [
      ["ERR_WENXIN_INVALID_ARGUMENT", 400, "invalid_value"],
      ["ERR_WENXIN_CONTEXT_OVERFLOW", 400, "context_length_exceeded"],
      ["ERR_WENXIN_TOKEN_OUT_OF_RANGE", 400, "invalid_value"],
      ["ERR_WENXIN_KV_CACHE_FULL", 503, "kv_cache_full"],
      ["ERR_WENXIN_ENGINE_CLOSED", 503, "engine_closed"],
      ["ERR_WENXIN_ABORTED", 499, "client_closed_request"],
    ];
    for (const [code, status, apiCode] of cases) {
      const e = toApiError(new WenxinError(code, `msg ${code}`, { subject: "temperature" }));
      expect([e.status, e.code, e.message, e.param]).toEqual([status, apiCode, `msg ${code}`, "temperature"]);
    }
  });

  it("hides the details of internal failures behind the request id", () => {
    for (const err of [
      new WenxinError("ERR_WENXIN_INTERNAL", "forward step failed at /work/x.cpp:12"),
      new TypeError("x is undefined"),
      "boom",
    ]) {
      const e = toApiError(err, "req-1");
      expect(e.status).toBe(500);
      expect(e.type).toBe("server_error");
      expect(e.message).toBe("the server failed to process the request (request id req-1)");
    }
  });

  it("turns fastify's body errors into 400 and 413", () => {
    expect(
      toApiError({ code: "FST_ERR_CTP_BODY_TOO_LARGE", statusCode: 413, message: "Request body is too large" }),
    ).toMatchObject({
      status: 413,
      code: "request_too_large",
    });
    expect(toApiError({ code: "FST_ERR_CTP_INVALID_JSON_BODY", statusCode: 400, message: "bad json" })).toMatchObject({
      status: 400,
      code: "invalid_json",
    });
  });

  it("keeps an ApiError as it is and renders OpenAI's body", () => {
    const e = new ApiError(404, "invalid_request_error", "no such model", "model_not_found", "model");
    expect(toApiError(e)).toBe(e);
    expect(e.toBody()).toEqual({
      error: { message: "no such model", type: "invalid_request_error", param: "model", code: "model_not_found" },
    });
  });
});
