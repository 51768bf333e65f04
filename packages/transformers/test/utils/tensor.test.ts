// Tensor as transformers.js users use it: indexing, slicing, conversion, element-wise math,
// reductions and shape operations. Every expected value is worked out by hand from the inputs.
import { describe, expect, it } from "vitest";

import { Tensor, cat, mean_pooling, ones_like, stack } from "../../src/index.js";

// [[1, 2, 3], [4, 5, 6]]
const m = () => new Tensor("float32", [1, 2, 3, 4, 5, 6], [2, 3]);

describe("Tensor", () => {
  it("indexes like transformers.js: t[i] is the i-th row, t[i][j] a 0-d tensor; negative counts from the end", () => {
    const t = m();
    expect(t[1]!.tolist()).toEqual([4, 5, 6]);
    expect(t[-1]![0]!.item()).toBe(4);
    expect(t[0]![2]!.dims).toEqual([]);
    expect(() => t[2]).toThrow(/index 2 is out of range/);
    expect([...t].map((row) => (row as Tensor).tolist())).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.indexOf(5)).toBe(4);
    expect(Tensor.ids([[7, 8]]).indexOf(8)).toBe(1);
  });

  it("slices with indices, ranges and null, and converts between types", () => {
    const t = m();
    expect(t.slice(null, [1, null]).tolist()).toEqual([
      [2, 3],
      [5, 6],
    ]);
    expect(t.slice(1, [-2, null]).tolist()).toEqual([5, 6]);
    const ids = t.to("int64");
    expect(ids.type).toBe("int64");
    expect(ids.tolist()).toEqual([
      [1n, 2n, 3n],
      [4n, 5n, 6n],
    ]);
    expect(ids.to("float32").data).toEqual(new Float32Array([1, 2, 3, 4, 5, 6]));
  });

  it("computes element-wise, copying or in place", () => {
    const t = m();
    expect(t.add(1).mul(2).sub(1).div(2).tolist()).toEqual([
      [1.5, 2.5, 3.5],
      [4.5, 5.5, 6.5],
    ]);
    expect(t.tolist()[0]).toEqual([1, 2, 3]);
    t.neg_();
    expect(t.data[0]).toBe(-1);
    expect(m().clamp(2, 5).tolist()).toEqual([
      [2, 2, 3],
      [4, 5, 5],
    ]);
    expect(
      m()
        .map((x, i) => x * i)
        .tolist()[1],
    ).toEqual([12, 20, 30]);
  });

  it("reduces over a dimension or everything", () => {
    const t = m();
    expect(t.sum().item()).toBe(21);
    expect(t.sum(0).tolist()).toEqual([5, 7, 9]);
    expect(t.mean(1).tolist()).toEqual([2, 5]);
    expect(t.mean(-1, true).dims).toEqual([2, 1]);
    expect(t.max(1).tolist()).toEqual([3, 6]);
    expect(t.min(0).tolist()).toEqual([1, 2, 3]);
    expect(t.argmax(1).tolist()).toEqual([2n, 2n]);
    expect(t.argmin().item()).toBe(0n);
    expect(new Tensor("float32", [3, 4], [2]).norm().item()).toBe(5);
    const unit = new Tensor("float32", [3, 4, 0, 2], [2, 2]).normalize(2, 1);
    expect(unit.tolist()).toEqual([
      [0.6000000238418579, 0.800000011920929],
      [0, 1],
    ]);
  });

  it("changes shape: view, squeeze, unsqueeze, flatten, permute", () => {
    const t = m();
    expect(t.view(3, -1).dims).toEqual([3, 2]);
    expect(t.unsqueeze(0).dims).toEqual([1, 2, 3]);
    expect(t.unsqueeze(0).squeeze().dims).toEqual([2, 3]);
    expect(t.unsqueeze(1).flatten().dims).toEqual([6]);
    expect(t.permute(1, 0).tolist()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
  });

  it("mean_pooling averages the tokens the mask keeps; cat and stack join", () => {
    // batch 1, 3 tokens, hidden 2; the last token is padding
    const states = new Tensor("float32", [1, 2, 3, 4, 100, 100], [1, 3, 2]);
    const mask = Tensor.ids([[1, 1, 0]]);
    expect(mean_pooling(states, mask).tolist()).toEqual([[2, 3]]);
    expect(ones_like(mask).tolist()).toEqual([[1n, 1n, 1n]]);
    expect(cat([m(), m()], 1).dims).toEqual([2, 6]);
    expect(cat([m(), m()], 0).tolist()[2]).toEqual([1, 2, 3]);
    expect(stack([m(), m()]).dims).toEqual([2, 2, 3]);
  });
});
