/**
 * The small slice of transformers.js' Tensor our outputs need: float32 data with dimensions,
 * convertible to nested arrays with `tolist()`.
 */
import { WenxinError } from "@wenxin/engine";

export type NestedNumbers = number | NestedNumbers[];

export class Tensor {
  readonly type = "float32";

  constructor(
    readonly data: Float32Array,
    readonly dims: number[],
  ) {
    const size = dims.reduce((a, d) => a * d, 1);
    if (size !== data.length)
      throw new WenxinError(
        "ERR_WENXIN_INTERNAL",
        `tensor of dims [${dims.join(", ")}] needs ${size} values, got ${data.length}`,
      );
  }

  get size(): number {
    return this.data.length;
  }

  /** Nested arrays in row-major order, e.g. number[][] for dims [batch, hidden]. */
  tolist(): NestedNumbers[] {
    const build = (depth: number, offset: number): NestedNumbers[] => {
      const n = this.dims[depth]!;
      if (depth === this.dims.length - 1) return Array.from(this.data.subarray(offset, offset + n));
      const stride = this.dims.slice(depth + 1).reduce((a, d) => a * d, 1);
      return Array.from({ length: n }, (_, i) => build(depth + 1, offset + i * stride));
    };
    return this.dims.length === 0 ? [this.data[0]!] : build(0, 0);
  }
}
