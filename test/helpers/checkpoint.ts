// Builds altered copies of the tiny checkpoints for error-path tests.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export function readRawSafetensors(file: string): Map<string, RawTensor> {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out = new Map<string, RawTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [b, e] = info.data_offsets;
    out.set(name, { dtype: info.dtype, shape: info.shape, bytes: new Uint8Array(buf.subarray(8 + n + b, 8 + n + e)) });
  }
  return out;
}

export function writeSafetensors(file: string, tensors: Map<string, RawTensor>): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(
    file,
    Buffer.concat([head, Buffer.from(json), ...[...tensors.values()].map((t) => Buffer.from(t.bytes))]),
  );
}

/** A temporary copy of a fixture model directory, to be altered by the caller. */
export function copyModelDir(src: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wenxin-test-"));
  cpSync(src, dir, { recursive: true });
  return dir;
}
