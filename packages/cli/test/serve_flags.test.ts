// `wenxin serve`'s flags map onto the server's options (one schema for both): every flag names an
// option the schema knows, seconds become milliseconds, and keys may come from the environment.
import { afterEach, describe, expect, it, vi } from "vitest";

import { parseServerOptions, serverOptionsSchema } from "@wenxin/server";

import { loadOptionsFromFlags, serverOptionsFromFlags } from "../src/commands/serve.js";

afterEach(() => vi.unstubAllEnvs());

describe("serverOptionsFromFlags", () => {
  it("maps every limit flag onto its option", () => {
    const options = serverOptionsFromFlags({
      "max-concurrency": "8",
      "stream-idle-timeout": "2.5",
      "request-timeout": "0",
      "drain-timeout": "10",
      "max-stop-strings": "4",
      "max-stop-length": "32",
      "max-embedding-inputs": "100",
      "max-embedding-tokens": "5000",
      "metrics-key": "m",
      cors: ["https://a.example", "https://b.example"],
      "responses-store": "10",
    });
    expect(options).toEqual({
      maxConcurrency: 8,
      streamIdleTimeoutMs: 2500,
      requestTimeoutMs: 0,
      drainTimeoutMs: 10_000,
      maxStopStrings: 4,
      maxStopLength: 32,
      maxEmbeddingInputs: 100,
      maxEmbeddingTokens: 5000,
      metricsKey: "m",
      cors: ["https://a.example", "https://b.example"],
      responsesStoreSize: 10,
    });
    expect(Object.keys(options).every((k) => k in serverOptionsSchema.shape)).toBe(true);
    expect(parseServerOptions(options)).toMatchObject(options);
  });

  it("takes the keys from the environment when no flag gives them", () => {
    vi.stubEnv("WENXIN_API_KEY", "from-env");
    vi.stubEnv("WENXIN_METRICS_KEY", "metrics-env");
    expect(serverOptionsFromFlags({})).toEqual({ apiKey: "from-env", metricsKey: "metrics-env" });
    expect(serverOptionsFromFlags({ "api-key": "flag" }).apiKey).toBe("flag");
  });

  it("names the flag whose value is not a number", () => {
    expect(() => serverOptionsFromFlags({ "max-stop-length": "many" })).toThrow("--max-stop-length must be a number");
  });
});

describe("loadOptionsFromFlags", () => {
  it("maps the engine flags onto Engine.load options", () => {
    expect(
      loadOptionsFromFlags({
        weights: "q4",
        "kv-cache": "int8",
        "max-batch-tokens": "256",
        "max-context": "2048",
        threads: "2",
        "no-prefix-caching": true,
      }),
    ).toEqual({
      weights: "q4",
      kvCache: "int8",
      maxBatchTokens: 256,
      maxContext: 2048,
      threads: 2,
      prefixCaching: false,
    });
    expect(loadOptionsFromFlags({})).toEqual({});
  });
});
