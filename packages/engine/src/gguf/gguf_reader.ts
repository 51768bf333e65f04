/**
 * Reads the header of a GGUF file (versions 2 and 3): key/value metadata and tensor infos. Tensor
 * bytes are not read (the native side maps them); only the header is, in windows, so a file of
 * tens of gigabytes costs a few megabytes of reads.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

import { WenxinError, fileReadError } from "../errors.js";
import { GgufValueType as V, ggmlBytes, ggmlTypeName, ggufValueMinBytes } from "./gguf_format.js";

export type GgufMetadataValue = number | bigint | boolean | string | GgufMetadataValue[];

export interface GgufTensorInfo {
  name: string;
  /** ggml order: innermost (contiguous) dimension first. */
  dims: number[];
  /** ggml type id (see GGML_TYPES). */
  type: number;
  typeName: string;
  /** Byte offset of the data from the start of the file. */
  offset: number;
  /** Size of the data; undefined for a type of unknown size. */
  bytes: number | undefined;
}

export interface GgufFile {
  path: string;
  version: number;
  fileSize: number;
  metadata: Map<string, GgufMetadataValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
}

const WINDOW = 1 << 22;

class FileCursor {
  pos = 0;
  private buf = Buffer.alloc(0);
  private bufStart = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly path: string,
  ) {}

  private ensure(n: number, what: string): void {
    if (this.pos + n > this.size)
      throw invalid(this.path, `the file ends inside ${what} (offset ${this.pos}, size ${this.size}; truncated?)`);
    if (this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length) return;
    const len = Math.min(Math.max(WINDOW, n), this.size - this.pos);
    this.buf = Buffer.alloc(len);
    readSync(this.fd, this.buf, 0, len, this.pos);
    this.bufStart = this.pos;
  }

  take(n: number, what: string): Buffer {
    this.ensure(n, what);
    const at = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(at, at + n);
  }

  u32(what: string): number {
    return this.take(4, what).readUInt32LE(0);
  }
  u64(what: string): number {
    const v = this.take(8, what).readBigUInt64LE(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(this.path, `${what} is impossibly large (${v})`);
    return Number(v);
  }
  string(what: string): string {
    const n = this.u64(what);
    return this.take(n, what).toString("utf8");
  }
}

function invalid(file: string, what: string): WenxinError {
  return new WenxinError("ERR_WENXIN_INVALID_FILE", `${file} is not a valid GGUF file: ${what}`, { subject: file });
}

function readValue(c: FileCursor, type: number, key: string, path: string, depth = 0): GgufMetadataValue {
  const what = `the value of '${key}'`;
  switch (type) {
    case V.U8:
      return c.take(1, what).readUInt8(0);
    case V.I8:
      return c.take(1, what).readInt8(0);
    case V.U16:
      return c.take(2, what).readUInt16LE(0);
    case V.I16:
      return c.take(2, what).readInt16LE(0);
    case V.U32:
      return c.take(4, what).readUInt32LE(0);
    case V.I32:
      return c.take(4, what).readInt32LE(0);
    case V.F32:
      return c.take(4, what).readFloatLE(0);
    case V.BOOL:
      return c.take(1, what).readUInt8(0) !== 0;
    case V.STRING:
      return c.string(what);
    case V.U64: {
      const v = c.take(8, what).readBigUInt64LE(0);
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    case V.I64: {
      const v = c.take(8, what).readBigInt64LE(0);
      return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
    }
    case V.F64:
      return c.take(8, what).readDoubleLE(0);
    case V.ARRAY: {
      if (depth > 2) throw invalid(path, `'${key}' nests arrays too deeply`);
      const elem = c.u32(what);
      const n = c.u64(what);
      // Sized by what the rest of the file can hold, never by the count alone.
      const left = c.size - c.pos;
      if (n > Math.floor(left / ggufValueMinBytes(elem)))
        throw invalid(
          path,
          `'${key}' claims ${n} elements of at least ${ggufValueMinBytes(elem)} bytes, more than the ${left} bytes left in the file (truncated?)`,
        );
      const out: GgufMetadataValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, elem, key, path, depth + 1);
      return out;
    }
    default:
      throw invalid(path, `'${key}' has unknown value type ${type}`);
  }
}

/** Parses the header of `file`; throws WenxinError (FILE_NOT_FOUND / INVALID_FILE) naming what is wrong. */
export function readGgufFile(file: string): GgufFile {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    throw fileReadError(file, err, "open");
  }
  try {
    const size = fstatSync(fd).size;
    const c = new FileCursor(fd, size, file);
    if (c.take(4, "the magic number").toString("latin1") !== "GGUF")
      throw invalid(file, "it does not start with the magic 'GGUF'");
    const version = c.u32("the version");
    if (version !== 2 && version !== 3) throw invalid(file, `version ${version} is not supported (only 2 and 3)`);
    const nTensors = c.u64("the tensor count");
    const nKv = c.u64("the metadata count");
    if (nTensors > 1 << 20 || nKv > 1 << 20)
      throw invalid(file, `it claims ${nTensors} tensors and ${nKv} metadata keys`);

    const metadata = new Map<string, GgufMetadataValue>();
    for (let i = 0; i < nKv; i++) {
      const key = c.string(`metadata key ${i}`);
      const type = c.u32(`the type of '${key}'`);
      metadata.set(key, readValue(c, type, key, file));
    }
    const alignment = Number(metadata.get("general.alignment") ?? 32);
    if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0)
      throw invalid(file, `general.alignment ${alignment} is not a power of two`);

    const infos: Omit<GgufTensorInfo, "offset">[] = [];
    const offsets: number[] = [];
    for (let i = 0; i < nTensors; i++) {
      const name = c.string(`the name of tensor ${i}`);
      const what = `the info of tensor '${name}'`;
      const nDims = c.u32(what);
      if (nDims < 1 || nDims > 4) throw invalid(file, `tensor '${name}' has ${nDims} dimensions (1 to 4 allowed)`);
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) dims.push(c.u64(what));
      const type = c.u32(what);
      const offset = c.u64(what);
      if (offset % alignment !== 0)
        throw invalid(file, `tensor '${name}' starts at offset ${offset}, not a multiple of ${alignment}`);
      const numel = dims.reduce((a, b) => a * b, 1);
      infos.push({ name, dims, type, typeName: ggmlTypeName(type), bytes: ggmlBytes(type, numel) });
      offsets.push(offset);
    }
    const dataStart = Math.ceil(c.pos / alignment) * alignment;
    const tensors = infos.map((t, i) => ({ ...t, offset: dataStart + offsets[i]! }));
    return { path: file, version, fileSize: size, metadata, tensors, alignment };
  } finally {
    closeSync(fd);
  }
}
