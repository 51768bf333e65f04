// Builds altered copies of the tiny checkpoints for error-path tests.
import { cpSync, existsSync, mkdtempSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { encodeSafetensors, parseSafetensorsBuffer } from "../../packages/engine/src/model/safetensors_file.js";

export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export function readRawSafetensors(file: string): Map<string, RawTensor> {
  const { header, bytes } = parseSafetensorsBuffer(file, readFileSync(file));
  const out = new Map<string, RawTensor>();
  for (const t of header.tensors.values())
    out.set(t.name, { dtype: t.dtype, shape: t.shape, bytes: new Uint8Array(bytes(t)) });
  return out;
}

/** Writes the tensors as given (no checks: error-path tests write mismatched dtypes and shapes on purpose). */
export function writeSafetensors(file: string, tensors: Map<string, RawTensor>): void {
  writeFileSync(file, encodeSafetensors([...tensors].map(([name, t]) => ({ name, ...t }))));
}

/**
 * Rewrites the JSON header of a valid safetensors file in place, keeping its data section byte for
 * byte: `edit` gets the header's text (its padding trimmed) and returns the text to write, unchecked
 * and unpadded (the corruption tests write malformed headers on purpose).
 */
export function editSafetensorsHeader(file: string, edit: (json: string) => string): void {
  const buf = readFileSync(file);
  const { dataStart } = parseSafetensorsBuffer(file, buf).header;
  const json = Buffer.from(edit(buf.subarray(8, dataStart).toString("utf8").trimEnd()));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([length, json, buf.subarray(dataStart)]));
}

/** A temporary copy of a fixture model directory, to be altered by the caller. */
export function copyModelDir(src: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wenxin-test-"));
  cpSync(src, dir, { recursive: true });
  return dir;
}

/**
 * Rewrites the checkpoint in `dir` (one file, or the shards of its index) as one model.safetensors
 * holding what `edit` makes of all its tensors (edited in place, or returned).
 */
export function rewriteCheckpoint(
  dir: string,
  edit: (tensors: Map<string, RawTensor>) => Map<string, RawTensor> | void,
): void {
  const index = path.join(dir, "model.safetensors.index.json");
  const files = existsSync(index)
    ? [...new Set(Object.values(JSON.parse(readFileSync(index, "utf8")).weight_map as Record<string, string>))]
    : ["model.safetensors"];
  const tensors = new Map(files.flatMap((f) => [...readRawSafetensors(path.join(dir, f))]));
  const edited = edit(tensors) ?? tensors;
  for (const f of existsSync(index) ? [...files, "model.safetensors.index.json"] : files) unlinkSync(path.join(dir, f));
  writeSafetensors(path.join(dir, "model.safetensors"), edited);
}

/** Stacks 2-D tensors of one dtype row-wise. */
export function concatRows(parts: RawTensor[]): RawTensor {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.bytes.length, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p.bytes, o);
    o += p.bytes.length;
  }
  return { dtype: parts[0]!.dtype, shape: [parts.reduce((n, p) => n + p.shape[0]!, 0), parts[0]!.shape[1]!], bytes };
}

/**
 * The same weights as some exports store them, written out by hand (not from the tensor-name
 * table, so that the loaders are checked against an independent spelling): Baidu's `ernie.` prefix,
 * q/k/v fused into `qkv_proj` and every MLP's gate and up (dense, routed and shared experts) into
 * `up_gate_proj`, rows in that order.
 */
export function fusedRemoteCodeTensors(t: Map<string, RawTensor>): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [name, raw] of t) {
    const n = name.replace(/^model\./, "ernie.");
    if (/\.(k_proj|v_proj|up_proj)\.weight$/.test(n)) continue;
    const qkv = /^(.*)\.q_proj\.weight$/.exec(name);
    const ffn = /^(.*)\.gate_proj\.weight$/.exec(name);
    if (qkv)
      out.set(
        n.replace(/q_proj\.weight$/, "qkv_proj.weight"),
        concatRows([raw, t.get(`${qkv[1]}.k_proj.weight`)!, t.get(`${qkv[1]}.v_proj.weight`)!]),
      );
    else if (ffn)
      out.set(
        n.replace(/gate_proj\.weight$/, "up_gate_proj.weight"),
        concatRows([raw, t.get(`${ffn[1]}.up_proj.weight`)!]),
      );
    else out.set(n, raw);
  }
  return out;
}
