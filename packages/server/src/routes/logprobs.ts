/**
 * Per-token log-probabilities in OpenAI's two wire shapes, from the engine's `logprobs` entries
 * (log-softmax of the raw logits at each step, the chosen token plus the most likely alternatives):
 * chat's `{content: [{token, logprob, bytes, top_logprobs}]}` and the legacy completions'
 * `{tokens, token_logprobs, top_logprobs, text_offset}`.
 *
 * A token's `bytes` are exactly what it adds to the output (ERNIE's byte-fallback pieces `<0xNN>`
 * are one byte, `▁` is a space). Its `token` string is those bytes as UTF-8, or, for a piece of a
 * multi-byte character, `bytes:\xe4\xbd` (vLLM's spelling), since such a piece is no string.
 */
import type { TokenEvent, TokenLogprob as EngineTokenLogprob, WenxinTokenizer } from "@wenxin/engine";

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
}

export interface ChatTokenLogprob extends TokenLogprob {
  top_logprobs: TokenLogprob[];
}

export interface ChatLogprobs {
  content: ChatTokenLogprob[] | null;
  refusal: null;
}

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

/** Token id → its bytes and display string, cached (one per tokenizer). */
export class TokenSpelling {
  private readonly cache = new Map<number, { bytes: Uint8Array; token: string; special: boolean }>();
  private static readonly perTokenizer = new WeakMap<WenxinTokenizer, TokenSpelling>();

  private constructor(private readonly tokenizer: WenxinTokenizer) {}

  static of(tokenizer: WenxinTokenizer): TokenSpelling {
    let s = TokenSpelling.perTokenizer.get(tokenizer);
    if (!s) TokenSpelling.perTokenizer.set(tokenizer, (s = new TokenSpelling(tokenizer)));
    return s;
  }

  spell(id: number): { bytes: Uint8Array; token: string; special: boolean } {
    let s = this.cache.get(id);
    if (s) return s;
    const piece = this.tokenizer.idToToken(id);
    const special = this.tokenizer.isSpecial(id);
    const byte = special ? null : piece.match(BYTE_PIECE);
    const bytes = byte
      ? Uint8Array.of(parseInt(byte[1]!, 16))
      : new TextEncoder().encode(special ? piece : piece.replaceAll("▁", " "));
    let token: string;
    try {
      token = utf8.decode(bytes);
    } catch {
      token = `bytes:${Array.from(bytes, (b) => `\\x${b.toString(16).padStart(2, "0")}`).join("")}`;
    }
    s = { bytes, token, special };
    this.cache.set(id, s);
    return s;
  }

  entry(id: number, logprob: number): TokenLogprob {
    const s = this.spell(id);
    return { token: s.token, logprob, bytes: Array.from(s.bytes) };
  }
}

/** Chat entries for one token event's log-probabilities. */
export function chatLogprobEntries(
  spelling: TokenSpelling,
  logprobs: readonly EngineTokenLogprob[],
): ChatTokenLogprob[] {
  return logprobs.map((lp) => ({
    ...spelling.entry(lp.tokenId, lp.logprob),
    top_logprobs: lp.top.map((t) => spelling.entry(t.tokenId, t.logprob)),
  }));
}

/**
 * The legacy completions shape for one choice, built token by token: `text_offset` is where each
 * token's text starts in the choice's text; special tokens add no text; each `top_logprobs` entry
 * holds the `top` most likely tokens and always the chosen one (so up to top + 1), as OpenAI's does.
 */
export class CompletionLogprobsBuilder {
  private readonly decoder = new TextDecoder("utf-8");
  private offset: number;

  constructor(
    private readonly spelling: TokenSpelling,
    private readonly top: number,
    startOffset = 0,
  ) {
    this.offset = startOffset;
  }

  /** The entries for `logprobs` (one event's tokens), continuing the offsets of earlier calls. */
  add(logprobs: readonly EngineTokenLogprob[]): CompletionLogprobs {
    const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
    for (const lp of logprobs) {
      const s = this.spelling.spell(lp.tokenId);
      out.tokens.push(s.token);
      out.token_logprobs.push(lp.logprob);
      out.text_offset.push(this.offset);
      const alternatives: Record<string, number> = {};
      for (const t of lp.top.slice(0, this.top)) alternatives[this.spelling.spell(t.tokenId).token] = t.logprob;
      alternatives[s.token] ??= lp.logprob;
      out.top_logprobs.push(alternatives);
      if (!s.special) this.offset += this.decoder.decode(s.bytes, { stream: true }).length;
    }
    return out;
  }
}

/** Every choice's completions log-probabilities: added per engine event, handed out by `take`. */
export class CompletionChoicesLogprobs {
  private readonly choices: { builder: CompletionLogprobsBuilder; parts: CompletionLogprobs[] }[];

  constructor(spelling: TokenSpelling, top: number, count: number) {
    this.choices = Array.from({ length: count }, () => ({
      builder: new CompletionLogprobsBuilder(spelling, top),
      parts: [],
    }));
  }

  add(choice: number, ev: TokenEvent): void {
    const c = this.choices[choice]!;
    if (ev.logprobs) c.parts.push(c.builder.add(ev.logprobs));
  }

  /** The entries of `choice` since the last call (all of them, for a non-streamed answer). */
  take(choice: number): CompletionLogprobs {
    const c = this.choices[choice]!;
    const joined = joinCompletionLogprobs(c.parts);
    c.parts = [];
    return joined;
  }
}

/** Concatenates completions log-probabilities (of successive events) into one. */
export function joinCompletionLogprobs(parts: CompletionLogprobs[]): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (const p of parts) {
    out.tokens.push(...p.tokens);
    out.token_logprobs.push(...p.token_logprobs);
    out.top_logprobs.push(...p.top_logprobs);
    out.text_offset.push(...p.text_offset);
  }
  return out;
}
