/**
 * transformers.js' Tensor, for what this package returns: token ids (`int64`, data a
 * BigInt64Array, as transformers.js gives them) and float32 outputs, with `dims`, `data`, `size`,
 * `type`, `tolist()`, `item()`, `slice()` and row iteration.
 */
import { WenxinError } from "@wenxin/engine";

export type TensorType = "float32" | "int64";
export type TensorData = Float32Array | BigInt64Array;
export type NestedNumbers = number | bigint | NestedNumbers[];

function invalid(message: string): WenxinError {
  return new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", message, { subject: "Tensor" });
}

export class Tensor<D extends TensorData = TensorData> {
  readonly type: TensorType;
  readonly data: D;
  readonly dims: number[];

  /** `new Tensor(type, data, dims)` as in transformers.js (data a typed array or a flat array), or `new Tensor(float32Data, dims)`. */
  constructor(type: TensorType, data: TensorData | ArrayLike<number | bigint>, dims: number[]);
  constructor(data: Float32Array, dims: number[]);
  constructor(...args: unknown[]) {
    let [type, data, dims] = args as [TensorType, TensorData | ArrayLike<number | bigint>, number[]];
    if (typeof args[0] !== "string") [type, data, dims] = ["float32", args[0] as Float32Array, args[1] as number[]];
    if (type === "int64") {
      this.data = (data instanceof BigInt64Array ? data : BigInt64Array.from(Array.from(data, (v) => BigInt(v)))) as D;
    } else if (type === "float32") {
      this.data = (data instanceof Float32Array ? data : Float32Array.from(Array.from(data, (v) => Number(v)))) as D;
    } else {
      throw invalid(`tensor type '${String(type)}' is not supported (float32 or int64)`);
    }
    this.type = type;
    this.dims = [...dims];
    const size = this.dims.reduce((a, d) => a * d, 1);
    if (size !== this.data.length)
      throw invalid(`tensor of dims [${this.dims.join(", ")}] needs ${size} values, got ${this.data.length}`);
  }

  /** Token ids as an int64 tensor of dims [rows, width] (every row as long). */
  static ids(rows: number[][]): Tensor<BigInt64Array> {
    const width = rows[0]?.length ?? 0;
    if (rows.some((r) => r.length !== width)) throw invalid("rows of different lengths cannot form a tensor");
    return new Tensor<BigInt64Array>(
      "int64",
      BigInt64Array.from(rows.flat(), (v) => BigInt(v)),
      [rows.length, width],
    );
  }

  get size(): number {
    return this.data.length;
  }

  /** Nested arrays in row-major order (bigints for int64, as in transformers.js). */
  tolist(): NestedNumbers[] {
    const build = (depth: number, offset: number): NestedNumbers[] => {
      const n = this.dims[depth]!;
      if (depth === this.dims.length - 1)
        return Array.from(this.data.subarray(offset, offset + n) as ArrayLike<number | bigint>);
      const stride = this.dims.slice(depth + 1).reduce((a, d) => a * d, 1);
      return Array.from({ length: n }, (_, i) => build(depth + 1, offset + i * stride));
    };
    return this.dims.length === 0 ? [this.data[0]!] : build(0, 0);
  }

  /** Rows as plain number arrays (int64 ids converted): what the engine takes. */
  toRows(): number[][] {
    if (this.dims.length === 1) return [Array.from(this.data as ArrayLike<number | bigint>, Number)];
    if (this.dims.length !== 2) throw invalid(`expected a tensor of 1 or 2 dims, got [${this.dims.join(", ")}]`);
    const [rows, width] = this.dims as [number, number];
    return Array.from({ length: rows }, (_, i) =>
      Array.from(this.data.subarray(i * width, (i + 1) * width) as ArrayLike<number | bigint>, Number),
    );
  }

  /** The value of a one-element tensor. */
  item(): number | bigint {
    if (this.size !== 1) throw invalid(`a tensor of ${this.size} elements has no single item`);
    return this.data[0]!;
  }

  /**
   * A copy of a part: one spec per dimension, `null` (all of it), an index (that one, the dimension
   * dropped) or `[start, end]` (end exclusive; null for either end; negative counts from the end).
   */
  slice(...specs: (number | [number | null, number | null] | null | undefined)[]): Tensor<D> {
    const ranges: [number, number][] = [];
    const keep: number[] = [];
    this.dims.forEach((n, d) => {
      const spec = specs[d];
      const at = (i: number) => (i < 0 ? i + n : i);
      if (spec === null || spec === undefined) {
        ranges.push([0, n]);
        keep.push(n);
      } else if (typeof spec === "number") {
        const i = at(spec);
        if (i < 0 || i >= n) throw invalid(`index ${spec} is out of range for dimension ${d} of size ${n}`);
        ranges.push([i, i + 1]);
      } else {
        const start = Math.min(n, Math.max(0, spec[0] === null ? 0 : at(spec[0])));
        const end = Math.min(n, Math.max(start, spec[1] === null ? n : at(spec[1])));
        ranges.push([start, end]);
        keep.push(end - start);
      }
    });
    const strides = this.dims.map((_, d) => this.dims.slice(d + 1).reduce((a, x) => a * x, 1));
    const values: (number | bigint)[] = [];
    const walk = (d: number, offset: number): void => {
      if (d === this.dims.length) {
        values.push(this.data[offset]!);
        return;
      }
      for (let i = ranges[d]![0]; i < ranges[d]![1]; i++) walk(d + 1, offset + i * strides[d]!);
    };
    walk(0, 0);
    return new Tensor<D>(this.type, values, keep);
  }

  /** Iterates over the first dimension: sub-tensors, or values for a 1-d tensor. */
  *[Symbol.iterator](): Iterator<Tensor<D> | number | bigint> {
    if (this.dims.length <= 1) {
      yield* this.data as Iterable<number | bigint>;
      return;
    }
    const [n, ...rest] = this.dims as [number, ...number[]];
    const stride = rest.reduce((a, d) => a * d, 1);
    for (let i = 0; i < n; i++)
      yield new Tensor<D>(this.type, this.data.subarray(i * stride, (i + 1) * stride) as D, rest);
  }
}
