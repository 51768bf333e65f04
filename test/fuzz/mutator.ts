// Seeded mutations for the TypeScript fuzz targets (no coverage feedback: see native/fuzz/README.md).
// Byte-level mutations (bit flips, boundary bytes, truncation, insertion of dictionary words,
// splices with other corpus entries) and, for JSON inputs, structural ones (dropped keys, values
// swapped for boundary values of another type, duplicated array items).

/** xorshift32: fast, seedable, good enough to pick mutations. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

const BOUNDARY_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3c, 0x3e];
// Little-endian integers that sit on the edges parsers get wrong (sign, 2^31, 2^32, varint lengths).
const BOUNDARY_INTS = [0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

export function mutateBytes(
  rng: Rng,
  input: Uint8Array,
  corpus: readonly Uint8Array[],
  dict: readonly Uint8Array[],
  maxLen: number,
): Uint8Array {
  let b = Array.from(input);
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(10)) {
      case 0: // flip a bit
        if (b.length) b[at % b.length]! ^= 1 << rng.int(8);
        break;
      case 1: // a boundary byte
        if (b.length) b[at % b.length] = rng.pick(BOUNDARY_BYTES);
        break;
      case 2: // truncate
        b = b.slice(0, at);
        break;
      case 3: // delete a run
        b.splice(at, 1 + rng.int(16));
        break;
      case 4: // insert a dictionary word
        if (dict.length) b.splice(at, 0, ...rng.pick(dict));
        break;
      case 5: {
        // a boundary integer, 1/2/4/8 bytes little-endian, or as a protobuf varint
        const v = rng.pick(BOUNDARY_INTS);
        const width = rng.pick([1, 2, 4, 8, 0]);
        const bytes: number[] = [];
        if (width === 0) {
          let x = BigInt.asUintN(64, BigInt(v));
          do {
            bytes.push(Number(x & 0x7fn) | (x > 0x7fn ? 0x80 : 0));
            x >>= 7n;
          } while (x > 0n);
        } else {
          for (let i = 0; i < width; i++) bytes.push(Number((BigInt.asUintN(64, BigInt(v)) >> BigInt(8 * i)) & 0xffn));
        }
        b.splice(at, rng.chance(0.5) ? bytes.length : 0, ...bytes);
        break;
      }
      case 6: {
        // duplicate a run
        const len = 1 + rng.int(32);
        b.splice(rng.int(b.length + 1), 0, ...b.slice(at, at + len));
        break;
      }
      case 7: {
        // splice with another input
        const other = rng.pick(corpus);
        const from = rng.int(other.length + 1);
        b = b.slice(0, at).concat(Array.from(other.subarray(from, from + 1 + rng.int(256))));
        break;
      }
      case 8: // ASCII digit change (numbers in text formats)
        if (b.length) b[at % b.length] = 0x30 + rng.int(10);
        break;
      default: // random byte
        if (b.length) b[at % b.length] = rng.int(256);
    }
  }
  return Uint8Array.from(b.length > maxLen ? b.slice(0, maxLen) : b);
}

const BOUNDARY_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1,
  2 ** 31,
  2 ** 53,
  -(2 ** 53),
  1e308,
  -1e308,
  1.5,
  5e-324,
  "",
  "x".repeat(300),
  [],
  {},
  [[]],
  { "": null },
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function clone<T>(v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v));
}

/** Mutates a parsed JSON value in place-free fashion: returns a new value. */
export function mutateJson(rng: Rng, value: unknown, words: readonly string[]): unknown {
  const root = { v: clone(value) as Json };
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    // Walk to a random node, remembering its parent.
    let parent: Record<string, Json> | Json[] = root as unknown as Record<string, Json>;
    let key: string | number = "v";
    for (let depth = 0; depth < 12; depth++) {
      const node: Json = (parent as Record<string, Json>)[key as string]!;
      if (node === null || typeof node !== "object" || rng.chance(0.3)) break;
      const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
      if (keys.length === 0) break;
      parent = node;
      key = rng.pick(keys);
    }
    const p = parent as Record<string, Json>;
    const k = key as string;
    switch (rng.int(7)) {
      case 0:
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else if (parent !== (root as unknown)) delete p[k];
        break;
      case 1:
        p[k] = clone(rng.pick(BOUNDARY_VALUES)) as Json;
        break;
      case 2:
        p[k] = words.length ? rng.pick(words) : "";
        break;
      case 3: {
        // add a key or item
        const target = p[k];
        if (Array.isArray(target)) target.push(clone(target[rng.int(target.length)] ?? null) as Json);
        else if (target && typeof target === "object")
          target[words.length ? rng.pick(words) : "k"] = clone(rng.pick(BOUNDARY_VALUES)) as Json;
        break;
      }
      case 4: {
        // numbers: off by one, negated, scaled
        const t = p[k];
        if (typeof t === "number") p[k] = rng.pick([t + 1, t - 1, -t, t * 1024, Math.floor(t / 2), t + 0.5]);
        break;
      }
      case 5: {
        // strings: truncated, doubled
        const t = p[k];
        if (typeof t === "string") p[k] = rng.chance(0.5) ? t.slice(0, rng.int(t.length + 1)) : t + t;
        break;
      }
      default: // wrap in an array / object
        p[k] = rng.chance(0.5) ? [p[k]!] : { [words.length ? rng.pick(words) : "k"]: p[k]! };
    }
  }
  return root.v;
}
