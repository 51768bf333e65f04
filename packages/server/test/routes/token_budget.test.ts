import { describe, expect, it } from "vitest";

import { resolveMaxTokens } from "../../src/routes/token_budget.js";

describe("resolveMaxTokens", () => {
  it("uses what is asked when it fits, else refuses like OpenAI", () => {
    expect(resolveMaxTokens(10, 20, undefined, 100)).toBe(20);
    expect(resolveMaxTokens(10, 90, undefined, 100)).toBe(90);
    expect(() => resolveMaxTokens(10, 91, undefined, 100)).toThrow(
      /maximum context length is 100 tokens.*101 tokens \(10 in the prompt, 91 for the completion\)/,
    );
  });

  it("defaults to the fallback, capped by the room left", () => {
    expect(resolveMaxTokens(10, undefined, 16, 100)).toBe(16);
    expect(resolveMaxTokens(95, null, 16, 100)).toBe(5);
    expect(resolveMaxTokens(10, undefined, undefined, 100)).toBe(90);
  });

  it("refuses a prompt that fills the context", () => {
    expect(() => resolveMaxTokens(100, undefined, undefined, 100)).toThrow(
      expect.objectContaining({ status: 400, code: "context_length_exceeded" }),
    );
  });
});
