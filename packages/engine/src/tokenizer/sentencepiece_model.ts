/**
 * Minimal reader for SentencePiece `tokenizer.model` files (a serialized `sentencepiece.ModelProto`).
 * Only the fields a tokenizer needs are decoded; everything else is skipped by wire type, so newer
 * protos with extra fields still load. Field numbers follow sentencepiece_model.proto.
 */
import { WenxinError } from "../errors.js";

/** `SentencePiece.Type` (proto enum values). */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** `TrainerSpec.ModelType` (proto enum values). */
export const ModelType = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;

export interface SentencePiece {
  piece: string;
  score: number;
  type: number;
}

export interface TrainerSpec {
  modelType: number;
  vocabSize: number;
  byteFallback: boolean;
  splitDigits: boolean;
  treatWhitespaceAsSuffix: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkPiece: string;
  bosPiece: string;
  eosPiece: string;
  padPiece: string;
}

export interface NormalizerSpec {
  name: string;
  /** Empty for identity normalization. */
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

export interface SentencePieceModel {
  pieces: SentencePiece[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

class ProtoReader {
  private pos: number;
  private readonly view: DataView;
  private static readonly utf8 = new TextDecoder("utf-8", { fatal: true });

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw truncated();
  }

  /** Varints can be 10 bytes long (negative int32 such as pad_id = -1), hence bigint. */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      this.need(1);
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw invalid("varint longer than 10 bytes");
  }

  uint(): number {
    // Fast path: most varints (tags, piece types) fit in one byte.
    if (this.pos < this.end && this.buf[this.pos] < 0x80) return this.buf[this.pos++];
    return Number(BigInt.asUintN(64, this.varint()));
  }

  int32(): number {
    return Number(BigInt.asIntN(32, this.varint()));
  }

  bool(): boolean {
    return this.varint() !== 0n;
  }

  float(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  bytes(): Uint8Array {
    const len = this.uint();
    this.need(len);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  string(): string {
    try {
      return ProtoReader.utf8.decode(this.bytes());
    } catch (err) {
      if (err instanceof WenxinError) throw err;
      throw invalid("string field is not valid UTF-8");
    }
  }

  /** Reader over an embedded message, advancing past it. */
  message(): ProtoReader {
    const len = this.uint();
    this.need(len);
    const sub = new ProtoReader(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return sub;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        this.need(8);
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.bytes();
        return;
      case WIRE_I32:
        this.need(4);
        this.pos += 4;
        return;
      default:
        throw invalid(`unsupported protobuf wire type ${wire}`);
    }
  }

  /** Next field as [fieldNumber, wireType]. */
  tag(): [number, number] {
    const t = this.uint();
    return [Math.floor(t / 8), t & 7];
  }
}

function invalid(message: string): WenxinError {
  return new WenxinError("ERR_WENXIN_TOKENIZER", `tokenizer.model: invalid SentencePiece model: ${message}`, {
    subject: "tokenizer.model",
  });
}

function truncated(): WenxinError {
  return invalid("unexpected end of data (truncated file?)");
}

function readPiece(r: ProtoReader): SentencePiece {
  const p: SentencePiece = { piece: "", score: 0, type: PieceType.NORMAL };
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_LEN) p.piece = r.string();
    else if (field === 2 && wire === WIRE_I32) p.score = r.float();
    else if (field === 3 && wire === WIRE_VARINT) p.type = r.uint();
    else r.skip(wire);
  }
  return p;
}

function readTrainerSpec(r: ProtoReader, t: TrainerSpec): void {
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (wire === WIRE_VARINT) {
      switch (field) {
        case 3:
          t.modelType = r.uint();
          continue;
        case 4:
          t.vocabSize = r.int32();
          continue;
        case 24:
          t.treatWhitespaceAsSuffix = r.bool();
          continue;
        case 25:
          t.splitDigits = r.bool();
          continue;
        case 35:
          t.byteFallback = r.bool();
          continue;
        case 40:
          t.unkId = r.int32();
          continue;
        case 41:
          t.bosId = r.int32();
          continue;
        case 42:
          t.eosId = r.int32();
          continue;
        case 43:
          t.padId = r.int32();
          continue;
      }
    } else if (wire === WIRE_LEN) {
      switch (field) {
        case 45:
          t.unkPiece = r.string();
          continue;
        case 46:
          t.bosPiece = r.string();
          continue;
        case 47:
          t.eosPiece = r.string();
          continue;
        case 48:
          t.padPiece = r.string();
          continue;
      }
    }
    r.skip(wire);
  }
}

function readNormalizerSpec(r: ProtoReader, n: NormalizerSpec): void {
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_LEN) n.name = r.string();
    else if (field === 2 && wire === WIRE_LEN) n.precompiledCharsmap = r.bytes().slice();
    else if (field === 3 && wire === WIRE_VARINT) n.addDummyPrefix = r.bool();
    else if (field === 4 && wire === WIRE_VARINT) n.removeExtraWhitespaces = r.bool();
    else if (field === 5 && wire === WIRE_VARINT) n.escapeWhitespaces = r.bool();
    else r.skip(wire);
  }
}

/** Parses a serialized ModelProto. Defaults are the proto2 defaults of sentencepiece_model.proto. */
export function parseSentencePieceModel(data: Uint8Array): SentencePieceModel {
  const trainerSpec: TrainerSpec = {
    modelType: ModelType.UNIGRAM,
    vocabSize: 8000,
    byteFallback: false,
    splitDigits: false,
    treatWhitespaceAsSuffix: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkPiece: "<unk>",
    bosPiece: "<s>",
    eosPiece: "</s>",
    padPiece: "<pad>",
  };
  const normalizerSpec: NormalizerSpec = {
    name: "",
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
  const pieces: SentencePiece[] = [];
  const r = new ProtoReader(data);
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_LEN) pieces.push(readPiece(r.message()));
    else if (field === 2 && wire === WIRE_LEN) readTrainerSpec(r.message(), trainerSpec);
    else if (field === 3 && wire === WIRE_LEN) readNormalizerSpec(r.message(), normalizerSpec);
    else r.skip(wire);
  }
  if (pieces.length === 0) throw invalid("no pieces (is this a SentencePiece model file?)");
  return { pieces, trainerSpec, normalizerSpec };
}
