/**
 * transformers.js' free tensor functions that work on this package's outputs: mean_pooling of
 * hidden states under an attention mask, cat / stack, and the constant makers (full, ones, zeros
 * and their `_like` forms).
 */
import { Tensor, tensorError, type TensorData, type TensorType } from "./tensor.js";

/** Mean over the tokens the mask keeps: [batch, tokens, hidden] and [batch, tokens] → [batch, hidden]. */
export function mean_pooling(last_hidden_state: Tensor, attention_mask: Tensor): Tensor<Float32Array> {
  const [batch, tokens, hidden] = last_hidden_state.dims as [number, number, number];
  if (last_hidden_state.dims.length !== 3 || attention_mask.dims[0] !== batch || attention_mask.dims[1] !== tokens)
    throw tensorError(
      `mean_pooling needs [batch, tokens, hidden] and [batch, tokens], got [${last_hidden_state.dims.join(", ")}] and [${attention_mask.dims.join(", ")}]`,
    );
  const out = new Float32Array(batch * hidden);
  for (let b = 0; b < batch; b++) {
    let count = 0;
    for (let t = 0; t < tokens; t++) {
      const keep = Number(attention_mask.data[b * tokens + t]);
      if (!keep) continue;
      count += keep;
      for (let h = 0; h < hidden; h++)
        out[b * hidden + h]! += keep * Number(last_hidden_state.data[(b * tokens + t) * hidden + h]);
    }
    if (count > 0) for (let h = 0; h < hidden; h++) out[b * hidden + h]! /= count;
  }
  return new Tensor("float32", out, [batch, hidden]) as Tensor<Float32Array>;
}

/** Joins tensors of one type along an existing dimension `dim`. */
export function cat<D extends TensorData>(tensors: Tensor<D>[], dim = 0): Tensor<D> {
  const first = tensors[0];
  if (!first) throw tensorError("cat needs at least one tensor");
  const rank = first.dims.length;
  const d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank) throw tensorError(`cat: dimension ${dim} is out of range for ${rank} dimensions`);
  for (const t of tensors)
    if (t.type !== first.type || t.dims.length !== rank || t.dims.some((x, k) => k !== d && x !== first.dims[k]))
      throw tensorError(`cat: tensors must share type and dims but for dimension ${d}`);
  const outer = first.dims.slice(0, d).reduce((a, x) => a * x, 1);
  const values: (number | bigint)[] = [];
  for (let o = 0; o < outer; o++)
    for (const t of tensors) {
      const chunk = t.dims.slice(d).reduce((a, x) => a * x, 1);
      values.push(
        ...(t.data.subarray(o * chunk, (o + 1) * chunk) as ArrayLike<number | bigint> & Iterable<number | bigint>),
      );
    }
  const dims = [...first.dims];
  dims[d] = tensors.reduce((a, t) => a + t.dims[d]!, 0);
  return new Tensor<D>(first.type, values, dims);
}

/** Joins tensors of equal dims along a new dimension `dim`. */
export function stack<D extends TensorData>(tensors: Tensor<D>[], dim = 0): Tensor<D> {
  return cat(
    tensors.map((t) => t.unsqueeze(dim)),
    dim,
  );
}

export function full(size: number[], fill_value: number | bigint | boolean): Tensor {
  const n = size.reduce((a, x) => a * x, 1);
  const type: TensorType =
    typeof fill_value === "bigint" ? "int64" : typeof fill_value === "boolean" ? "bool" : "float32";
  const value = typeof fill_value === "boolean" ? Number(fill_value) : fill_value;
  return new Tensor(type, new Array<number | bigint>(n).fill(value), size);
}
export function full_like(tensor: Tensor, fill_value: number | bigint | boolean): Tensor {
  return full(tensor.dims, fill_value);
}
export function ones(size: number[]): Tensor<BigInt64Array> {
  return full(size, 1n) as Tensor<BigInt64Array>;
}
export function ones_like(tensor: Tensor): Tensor<BigInt64Array> {
  return ones(tensor.dims);
}
export function zeros(size: number[]): Tensor<BigInt64Array> {
  return full(size, 0n) as Tensor<BigInt64Array>;
}
export function zeros_like(tensor: Tensor): Tensor<BigInt64Array> {
  return zeros(tensor.dims);
}
