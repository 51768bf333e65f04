// Builds altered copies of the tiny checkpoints for error-path tests.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
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

/** A temporary copy of a fixture model directory, to be altered by the caller. */
export function copyModelDir(src: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wenxin-test-"));
  cpSync(src, dir, { recursive: true });
  return dir;
}
