/**
 * GGUF constants (llama.cpp's file format): metadata value types and the ggml tensor types with
 * their block sizes. Shared by the reader and the writer.
 */

/** Metadata value types, as numbered in the GGUF spec. */
export const GgufValueType = {
  U8: 0,
  I8: 1,
  U16: 2,
  I16: 3,
  U32: 4,
  I32: 5,
  F32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  U64: 10,
  I64: 11,
  F64: 12,
} as const;

/** The fewest bytes one value of a metadata type takes (a string or an array: its length prefix). */
export function ggufValueMinBytes(type: number): number {
  switch (type) {
    case GgufValueType.U8:
    case GgufValueType.I8:
    case GgufValueType.BOOL:
      return 1;
    case GgufValueType.U16:
    case GgufValueType.I16:
      return 2;
    case GgufValueType.U32:
    case GgufValueType.I32:
    case GgufValueType.F32:
      return 4;
    case GgufValueType.ARRAY:
      return 12;
    default:
      return 8;
  }
}

/** ggml tensor types: [name, elements per block, bytes per block]. */
export const GGML_TYPES: Record<number, [name: string, blockElems: number, blockBytes: number]> = {
  0: ["F32", 1, 4],
  1: ["F16", 1, 2],
  2: ["Q4_0", 32, 18],
  3: ["Q4_1", 32, 20],
  6: ["Q5_0", 32, 22],
  7: ["Q5_1", 32, 24],
  8: ["Q8_0", 32, 34],
  9: ["Q8_1", 32, 36],
  10: ["Q2_K", 256, 84],
  11: ["Q3_K", 256, 110],
  12: ["Q4_K", 256, 144],
  13: ["Q5_K", 256, 176],
  14: ["Q6_K", 256, 210],
  15: ["Q8_K", 256, 292],
  16: ["IQ2_XXS", 256, 66],
  17: ["IQ2_XS", 256, 74],
  18: ["IQ3_XXS", 256, 98],
  19: ["IQ1_S", 256, 50],
  20: ["IQ4_NL", 32, 18],
  21: ["IQ3_S", 256, 110],
  22: ["IQ2_S", 256, 82],
  23: ["IQ4_XS", 256, 136],
  24: ["I8", 1, 1],
  25: ["I16", 1, 2],
  26: ["I32", 1, 4],
  27: ["I64", 1, 8],
  28: ["F64", 1, 8],
  29: ["IQ1_M", 256, 56],
  30: ["BF16", 1, 2],
  34: ["TQ1_0", 256, 54],
  35: ["TQ2_0", 256, 66],
  39: ["MXFP4", 32, 17],
};

/** The tensor types Engine.load reads from a GGUF file. */
export const LOADABLE_GGML_TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"] as const;

export function ggmlTypeName(type: number): string {
  return GGML_TYPES[type]?.[0] ?? `type ${type}`;
}

export function ggmlTypeId(name: string): number | undefined {
  for (const [id, [n]] of Object.entries(GGML_TYPES)) if (n === name) return Number(id);
  return undefined;
}

/** Bytes of `numel` elements of `type` (whole blocks), or undefined for a type of unknown size. */
export function ggmlBytes(type: number, numel: number): number | undefined {
  const t = GGML_TYPES[type];
  return t ? (numel / t[1]) * t[2] : undefined;
}

/** `general.file_type` values (llama_ftype) for the types the writer produces. */
export const GGUF_FILE_TYPE: Record<string, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, BF16: 32 };
