import { describe, expect, it } from "vitest";

import {
  rejectUnsupportedSampling,
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
    expect(toEngineSampling(req({ top_k: -1, min_p: 0.1, repetition_penalty: 1.2, stop: "\\n", seed: 5 }), 2)).toEqual({
      topK: 0,
      minP: 0.1,
      repetitionPenalty: 1.2,
      stop: ["\\n"],
      seed: 7,
    });
    expect(toEngineSampling(req({ seed: -5 }), 0).seed).toBe(5);
    expect(toEngineSampling(req({ stop: ["", "x"] }), 0).stop).toEqual(["x"]);
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
