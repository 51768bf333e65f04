/**
 * transformers.js' Tensor, for what this package returns and what its users do with it: token ids
 * (`int64`, data a BigInt64Array, as transformers.js gives them) and float outputs. The surface is
 * transformers.js' own: `dims`, `data`, `type`, `size`, `tensor[i]` (the i-th sub-tensor along the
 * first dimension), iteration, `tolist()`, `item()`, `indexOf()`, `slice()`, `to(type)`,
 * element-wise `add`/`sub`/`mul`/`div`/`map`/`neg`/`clamp`/`round`/`sigmoid` (each with an
 * in-place `…_` twin), reductions over a dimension (`sum`, `mean`, `min`, `max`, `argmin`,
 * `argmax`, `norm`), `normalize`, and the shape operations `view`, `squeeze`, `unsqueeze`,
 * `flatten`, `permute`/`transpose`. Free functions (mean_pooling, cat, stack, …) are in tensor_ops.ts.
 */
import { WenxinError } from "@wenxin/engine";

export const TENSOR_TYPES = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

export type TensorType = keyof typeof TENSOR_TYPES;
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;
export type NestedNumbers = number | bigint | NestedNumbers[];
type Scalar = number | bigint;

export function tensorError(message: string): WenxinError {
  return new WenxinError("ERR_WENXIN_INVALID_ARGUMENT", message, { subject: "Tensor" });
}

/** `index` (negative counts from the end) checked against a dimension of `size`. */
function at(index: number, size: number, what: string): number {
  const i = index < 0 ? index + size : index;
  if (!Number.isInteger(i) || i < 0 || i >= size)
    throw tensorError(`index ${index} is out of range for ${what} of size ${size}`);
  return i;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, d) => a * d, 1);
}

function stridesOf(dims: readonly number[]): number[] {
  const out = new Array<number>(dims.length);
  for (let d = dims.length - 1, s = 1; d >= 0; --d) {
    out[d] = s;
    s *= dims[d]!;
  }
  return out;
}

type TypedArrayClass = {
  new (length: number): TensorData;
  from(values: ArrayLike<Scalar>, fn: (v: Scalar) => Scalar): TensorData;
};

function allocate(type: TensorType, length: number): TensorData {
  return new (TENSOR_TYPES[type] as TypedArrayClass)(length);
}

function toData(type: TensorType, values: TensorData | ArrayLike<Scalar>): TensorData {
  const Ctor = TENSOR_TYPES[type] as TypedArrayClass;
  if (values instanceof Ctor) return values;
  return Ctor.from(values as ArrayLike<Scalar>, type === "int64" ? (v) => BigInt(v) : (v) => Number(v));
}

export class Tensor<D extends TensorData = TensorData> {
  readonly type: TensorType;
  readonly data: D;
  readonly dims: number[];
  /** `tensor[i]`: the i-th sub-tensor along the first dimension (a 0-d tensor of a 1-d one). */
  [index: number]: Tensor<D>;

  /** `new Tensor(type, data, dims)` as in transformers.js (data a typed array or a flat array), or `new Tensor(float32Data, dims)`. */
  constructor(type: TensorType, data: TensorData | ArrayLike<Scalar>, dims: readonly number[]);
  constructor(data: Float32Array, dims: readonly number[]);
  constructor(...args: unknown[]) {
    let [type, data, dims] = args as [TensorType, TensorData | ArrayLike<Scalar>, number[]];
    if (typeof args[0] !== "string") [type, data, dims] = ["float32", args[0] as Float32Array, args[1] as number[]];
    if (!Object.hasOwn(TENSOR_TYPES, type))
      throw tensorError(`tensor type '${String(type)}' is not supported (${Object.keys(TENSOR_TYPES).join(", ")})`);
    this.type = type;
    this.data = toData(type, data) as D;
    this.dims = [...dims];
    if (product(this.dims) !== this.data.length)
      throw tensorError(
        `tensor of dims [${this.dims.join(", ")}] needs ${product(this.dims)} values, got ${this.data.length}`,
      );
    return new Proxy(this, {
      get: (target, key, receiver) =>
        typeof key === "string" && /^-?\d+$/.test(key)
          ? target.getItem(Number(key))
          : Reflect.get(target, key, receiver),
    });
  }

  /** Token ids as an int64 tensor of dims [rows, width] (every row as long). */
  static ids(rows: readonly (readonly number[])[]): Tensor<BigInt64Array> {
    const width = rows[0]?.length ?? 0;
    if (rows.some((r) => r.length !== width)) throw tensorError("rows of different lengths cannot form a tensor");
    return new Tensor<BigInt64Array>(
      "int64",
      BigInt64Array.from(rows.flat(), (v) => BigInt(v)),
      [rows.length, width],
    );
  }

  get size(): number {
    return this.data.length;
  }

  /** Nothing to release: the data is a JavaScript typed array (transformers.js frees ONNX buffers here). */
  dispose(): void {}

  private getItem(index: number): Tensor<D> {
    if (this.dims.length === 0) throw tensorError("a 0-d tensor cannot be indexed");
    const [n, ...rest] = this.dims as [number, ...number[]];
    const i = at(index, n, "dimension 0");
    const stride = product(rest);
    return new Tensor<D>(this.type, this.data.subarray(i * stride, (i + 1) * stride) as D, rest);
  }

  /** Iterates over the first dimension: sub-tensors, or values for a 1-d tensor. */
  *[Symbol.iterator](): Iterator<Tensor<D> | Scalar> {
    if (this.dims.length <= 1) {
      yield* this.data as Iterable<Scalar>;
      return;
    }
    for (let i = 0; i < this.dims[0]!; i++) yield this.getItem(i);
  }

  /** The first position of `item` in the data (ints match bigints), or -1. */
  indexOf(item: Scalar): number {
    for (let i = 0; i < this.data.length; i++) if (this.data[i] == item) return i;
    return -1;
  }

  /** The value of a one-element tensor. */
  item(): Scalar {
    if (this.size !== 1) throw tensorError(`a tensor of ${this.size} elements cannot be converted to a scalar`);
    return this.data[0]!;
  }

  /** Nested arrays in row-major order (bigints for int64, as in transformers.js). */
  tolist(): NestedNumbers[] {
    const build = (depth: number, offset: number): NestedNumbers[] => {
      const n = this.dims[depth]!;
      if (depth === this.dims.length - 1)
        return Array.from(this.data.subarray(offset, offset + n) as ArrayLike<Scalar>);
      const stride = product(this.dims.slice(depth + 1));
      return Array.from({ length: n }, (_, i) => build(depth + 1, offset + i * stride));
    };
    return this.dims.length === 0 ? [this.data[0]!] : build(0, 0);
  }

  /** Rows as plain number arrays (int64 ids converted): what the engine takes. */
  toRows(): number[][] {
    if (this.dims.length === 1) return [Array.from(this.data as ArrayLike<Scalar>, Number)];
    if (this.dims.length !== 2) throw tensorError(`expected a tensor of 1 or 2 dims, got [${this.dims.join(", ")}]`);
    return Array.from({ length: this.dims[0]! }, (_, i) =>
      Array.from(this.getItem(i).data as ArrayLike<Scalar>, Number),
    );
  }

  /** A copy converted to `type` (floats truncate toward zero into integer types). */
  to(type: TensorType): Tensor {
    if (type === this.type) return this.clone();
    if (!Object.hasOwn(TENSOR_TYPES, type)) throw tensorError(`tensor type '${String(type)}' is not supported`);
    const values = Array.from(this.data as ArrayLike<Scalar>, (v) =>
      type === "int64" ? BigInt(Math.trunc(Number(v))) : type === "bool" ? Number(v != 0) : Number(v),
    );
    return new Tensor(type, values, this.dims);
  }

  clone(): Tensor<D> {
    return new Tensor<D>(this.type, this.data.slice() as D, this.dims);
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
      const from = (i: number) => (i < 0 ? i + n : i);
      if (spec === null || spec === undefined) {
        ranges.push([0, n]);
        keep.push(n);
      } else if (typeof spec === "number") {
        const i = at(spec, n, `dimension ${d}`);
        ranges.push([i, i + 1]);
      } else {
        const start = Math.min(n, Math.max(0, spec[0] === null ? 0 : from(spec[0])));
        const end = Math.min(n, Math.max(start, spec[1] === null ? n : from(spec[1])));
        ranges.push([start, end]);
        keep.push(end - start);
      }
    });
    const strides = stridesOf(this.dims);
    const out = allocate(this.type, product(ranges.map(([s, e]) => e - s)));
    let k = 0;
    const walk = (d: number, offset: number): void => {
      if (d === this.dims.length) {
        (out as unknown as Scalar[])[k++] = this.data[offset]!;
        return;
      }
      for (let i = ranges[d]![0]; i < ranges[d]![1]; i++) walk(d + 1, offset + i * strides[d]!);
    };
    walk(0, 0);
    return new Tensor<D>(this.type, out, keep);
  }

  // ---- element-wise ----

  /** Applies `fn(value, index)` to every element, in place. */
  map_(fn: (value: number, index: number) => number): this {
    const data = this.data as unknown as Scalar[];
    const big = this.type === "int64";
    for (let i = 0; i < this.data.length; i++) {
      const v = fn(Number(data[i]), i);
      data[i] = big ? BigInt(Math.trunc(v)) : v;
    }
    return this;
  }
  map(fn: (value: number, index: number) => number): Tensor<D> {
    return this.clone().map_(fn);
  }
  add_(value: number): this {
    return this.map_((x) => x + value);
  }
  add(value: number): Tensor<D> {
    return this.clone().add_(value);
  }
  sub_(value: number): this {
    return this.map_((x) => x - value);
  }
  sub(value: number): Tensor<D> {
    return this.clone().sub_(value);
  }
  mul_(value: number): this {
    return this.map_((x) => x * value);
  }
  mul(value: number): Tensor<D> {
    return this.clone().mul_(value);
  }
  div_(value: number): this {
    return this.map_((x) => x / value);
  }
  div(value: number): Tensor<D> {
    return this.clone().div_(value);
  }
  neg_(): this {
    return this.map_((x) => -x);
  }
  neg(): Tensor<D> {
    return this.clone().neg_();
  }
  clamp_(min: number, max: number): this {
    return this.map_((x) => Math.min(max, Math.max(min, x)));
  }
  clamp(min: number, max: number): Tensor<D> {
    return this.clone().clamp_(min, max);
  }
  round_(): this {
    return this.map_((x) => Math.round(x));
  }
  round(): Tensor<D> {
    return this.clone().round_();
  }
  sigmoid_(): this {
    return this.map_((x) => 1 / (1 + Math.exp(-x)));
  }
  sigmoid(): Tensor<D> {
    return this.clone().sigmoid_();
  }

  // ---- reductions ----

  /**
   * Folds dimension `dim` (null: every value) with `step`, finishing each result with `done`
   * (given the count folded). The result is float32 unless `keepType`.
   */
  private reduce(
    dim: number | null,
    keepdim: boolean,
    init: number,
    step: (acc: number, value: number, index: number) => number,
    done: (acc: number, count: number) => number = (acc) => acc,
    type: TensorType = this.type === "float64" ? "float64" : "float32",
  ): Tensor {
    if (dim === null) {
      let acc = init;
      for (let i = 0; i < this.data.length; i++) acc = step(acc, Number(this.data[i]), i);
      return new Tensor(type, [done(acc, this.data.length)], keepdim ? this.dims.map(() => 1) : []);
    }
    const d = at(dim, this.dims.length, "the dimensions");
    const n = this.dims[d]!;
    const inner = product(this.dims.slice(d + 1));
    const outer = product(this.dims.slice(0, d));
    const values: number[] = [];
    for (let o = 0; o < outer; o++)
      for (let j = 0; j < inner; j++) {
        let acc = init;
        for (let i = 0; i < n; i++) acc = step(acc, Number(this.data[(o * n + i) * inner + j]), i);
        values.push(done(acc, n));
      }
    const dims = keepdim ? this.dims.map((x, k) => (k === d ? 1 : x)) : this.dims.filter((_, k) => k !== d);
    return new Tensor(type, values, dims);
  }

  sum(dim: number | null = null, keepdim = false): Tensor {
    return this.reduce(dim, keepdim, 0, (a, x) => a + x, undefined, this.type === "int64" ? "int64" : undefined);
  }
  mean(dim: number | null = null, keepdim = false): Tensor {
    return this.reduce(
      dim,
      keepdim,
      0,
      (a, x) => a + x,
      (a, n) => a / n,
    );
  }
  min(dim: number | null = null, keepdim = false): Tensor {
    return this.reduce(dim, keepdim, Infinity, (a, x) => Math.min(a, x), undefined, this.type);
  }
  max(dim: number | null = null, keepdim = false): Tensor {
    return this.reduce(dim, keepdim, -Infinity, (a, x) => Math.max(a, x), undefined, this.type);
  }
  argmax(dim: number | null = null, keepdim = false): Tensor<BigInt64Array> {
    return this.argBest(dim, keepdim, (x, best) => x > best);
  }
  argmin(dim: number | null = null, keepdim = false): Tensor<BigInt64Array> {
    return this.argBest(dim, keepdim, (x, best) => x < best);
  }
  private argBest(dim: number | null, keepdim: boolean, better: (x: number, best: number) => boolean) {
    let best = NaN;
    return this.reduce(
      dim,
      keepdim,
      -1,
      (arg, x, i) => {
        if (arg < 0 || better(x, best)) {
          best = x;
          return i;
        }
        return arg;
      },
      undefined,
      "int64",
    ) as Tensor<BigInt64Array>;
  }
  /** The p-norm ('fro' is 2) over `dim`, or over every value. */
  norm(p: number | "fro" = "fro", dim: number | null = null, keepdim = false): Tensor {
    const e = p === "fro" ? 2 : p;
    if (typeof e !== "number" || !(e > 0)) throw tensorError(`unsupported norm ${String(p)}`);
    return this.reduce(
      dim,
      keepdim,
      0,
      (a, x) => a + Math.abs(x) ** e,
      (a) => a ** (1 / e),
    );
  }
  /** L_p normalization over `dim` (default 1, as transformers.js), in place. */
  normalize_(p = 2, dim = 1): this {
    const d = at(dim, this.dims.length, "the dimensions");
    const norms = this.norm(p, d, true).data as Float32Array;
    const n = this.dims[d]!;
    const inner = product(this.dims.slice(d + 1));
    return this.map_((x, i) => {
      const norm = norms[Math.floor(i / (n * inner)) * inner + (i % inner)]!;
      return norm > 0 ? x / norm : x;
    });
  }
  normalize(p = 2, dim = 1): Tensor<D> {
    return this.clone().normalize_(p, dim);
  }

  // ---- shape ----

  stride(): number[] {
    return stridesOf(this.dims);
  }
  /** The same data with other dims (one may be -1). */
  view(...dims: number[]): Tensor<D> {
    const free = dims.indexOf(-1);
    if (free >= 0) dims[free] = this.size / product(dims.filter((_, i) => i !== free));
    return new Tensor<D>(this.type, this.data, dims);
  }
  squeeze(dim: number | null = null): Tensor<D> {
    const drop = (d: number, k: number) =>
      d === 1 && (dim === null || k === at(dim, this.dims.length, "the dimensions"));
    return new Tensor<D>(
      this.type,
      this.data,
      this.dims.filter((d, k) => !drop(d, k)),
    );
  }
  unsqueeze(dim: number): Tensor<D> {
    const d = at(dim, this.dims.length + 1, "the dimensions");
    return new Tensor<D>(this.type, this.data, [...this.dims.slice(0, d), 1, ...this.dims.slice(d)]);
  }
  flatten(startDim = 0, endDim = -1): Tensor<D> {
    if (this.dims.length === 0) return new Tensor<D>(this.type, this.data, [1]);
    const s = at(startDim, this.dims.length, "the dimensions"),
      e = at(endDim, this.dims.length, "the dimensions");
    return new Tensor<D>(this.type, this.data, [
      ...this.dims.slice(0, s),
      product(this.dims.slice(s, e + 1)),
      ...this.dims.slice(e + 1),
    ]);
  }
  /** A copy with the dimensions in the order `axes`. */
  permute(...axes: number[]): Tensor<D> {
    if (
      axes.length !== this.dims.length ||
      new Set(axes.map((a) => at(a, this.dims.length, "the dimensions"))).size !== axes.length
    )
      throw tensorError(`permute needs each of the ${this.dims.length} dimensions once, got [${axes.join(", ")}]`);
    const order = axes.map((a) => at(a, this.dims.length, "the dimensions"));
    const dims = order.map((a) => this.dims[a]!);
    const from = stridesOf(this.dims);
    const out = allocate(this.type, this.size) as unknown as Scalar[];
    const index = new Array<number>(dims.length).fill(0);
    for (let k = 0; k < this.size; k++) {
      let src = 0;
      for (let j = 0; j < dims.length; j++) src += index[j]! * from[order[j]!]!;
      out[k] = this.data[src]!;
      for (let j = dims.length - 1; j >= 0 && ++index[j]! === dims[j]; j--) index[j] = 0;
    }
    return new Tensor<D>(this.type, out as unknown as D, dims);
  }
  transpose(...axes: number[]): Tensor<D> {
    return this.permute(...axes);
  }
}
