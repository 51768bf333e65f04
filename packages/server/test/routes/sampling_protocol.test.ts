import { describe, expect, it } from "vitest";

import {
  rejectUnsupportedSampling,
  stopStrings,
  toEngineSampling,
  type SamplingRequest,
} from "../../src/routes/sampling_protocol.js";

const req = (fields: Partial<SamplingRequest>): SamplingRequest => ({ model: "m", ...fields });

describe("toEngineSampling", () => {
  it("leaves unset options to the checkpoint's generation_config", () => {
    expect(toEngineSampling(req({}), 0)).toEqual({});
  });

  it("samples when temperature or top_p is given, greedy at 0", () => {
    expect(toEngineSampling(req({ temperature: 0.7, top_p: 0.9 }), 0)).toEqual({
      temperature: 0.7,
      topP: 0.9,
      doSample: true,
    });
    expect(toEngineSampling(req({ temperature: 0, top_p: 0.9 }), 0)).toEqual({ temperature: 0 });
    expect(toEngineSampling(req({ top_p: 0 }), 0)).toEqual({ temperature: 0 });
  });

  it("maps vLLM's extras, stops and per-choice seeds", () => {
    expect(toEngineSampling(req({ top_k: -1, min_p: 0.1, repetition_penalty: 1.2, seed: 5 }), 2)).toEqual({
      topK: 0,
      minP: 0.1,
      repetitionPenalty: 1.2,
      seed: 7,
    });
    expect(toEngineSampling(req({ seed: -5 }), 0).seed).toBe(5);
  });
});

describe("stopStrings", () => {
  const limits = { maxStopStrings: 2, maxStopLength: 4 };

  it("drops empty strings and takes a single string", () => {
    expect(stopStrings(req({ stop: ["", "x"] }), limits)).toEqual(["x"]);
    expect(stopStrings(req({ stop: "\\n" }), limits)).toEqual(["\\n"]);
    expect(stopStrings(req({}), limits)).toEqual([]);
  });

  it("refuses more strings, or longer ones, than the server's limits", () => {
    expect(() => stopStrings(req({ stop: ["a", "b", "c"] }), limits)).toThrow(
      expect.objectContaining({ status: 400, param: "stop", message: expect.stringContaining("at most 2") }),
    );
    expect(() => stopStrings(req({ stop: ["a", "toolong"] }), limits)).toThrow(
      expect.objectContaining({ status: 400, param: "stop", message: expect.stringContaining("string 1 has 7") }),
    );
  });
});

describe("rejectUnsupportedSampling", () => {
  it("accepts zero penalties and an empty logit_bias, refuses the rest", () => {
    expect(() =>
      rejectUnsupportedSampling(req({ presence_penalty: 0, frequency_penalty: 0, logit_bias: {} })),
    ).not.toThrow();
    expect(() => rejectUnsupportedSampling(req({ frequency_penalty: 1 }))).toThrow(
      expect.objectContaining({ status: 400, param: "frequency_penalty" }),
    );
    expect(() => rejectUnsupportedSampling(req({ logit_bias: { "5": 10 } }))).toThrow(
      expect.objectContaining({ code: "unsupported_parameter" }),
    );
  });
});
