/** Deterministic token ids for benchmark prompts, away from the special ids at the start of the vocabulary. */
export function syntheticTokens(n: number, vocab: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return 300 + (s % (vocab - 300));
  });
}
