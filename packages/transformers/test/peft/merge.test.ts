import { describe, expect, it } from "vitest";

import { addLoraDelta } from "../../src/peft/merge.js";

describe("addLoraDelta", () => {
  it("adds scaling · B·A to W, element by element as a plain matrix product", () => {
    const [m, n, r] = [3, 5, 2];
    const w = Float32Array.from({ length: m * n }, (_, i) => i / 10);
    const a = Float32Array.from({ length: r * n }, (_, i) => Math.sin(i + 1));
    const b = Float32Array.from({ length: m * r }, (_, i) => Math.cos(i + 1));
    const expected = Float32Array.from(w);
    for (let o = 0; o < m; o++)
      for (let i = 0; i < n; i++) {
        let dot = 0;
        for (let k = 0; k < r; k++) dot += b[o * r + k]! * a[k * n + i]!;
        expected[o * n + i]! += 1.5 * dot;
      }
    addLoraDelta(w, a, b, { rank: r, inFeatures: n, outFeatures: m, scaling: 1.5 });
    for (let i = 0; i < w.length; i++) expect(w[i]).toBeCloseTo(expected[i]!, 5);
  });
});
