/**
 * Splits ERNIE's chat output, as it streams, into reply text, reasoning and tool calls. The
 * markup is the Thinking models' (vLLM's and FastDeploy's ernie45 parsers read the same):
 *
 *   {reasoning}\n</think>\n\n<response>\n{answer}\n</response>
 *   {reasoning}\n</think>\n\n<tool_call>\n{"name": "...", "arguments": {...}}\n</tool_call>
 *
 * Reasoning runs until `</think>` (from the start when the prompt opened `<think>`); several
 * `<tool_call>` blocks are parallel calls. Tool-call arguments are streamed as soon as the
 * `{"name": "...", "arguments": ` head is seen. A block that does not parse becomes an invalid
 * call rather than an error. Text is taken as it comes, so markers split across pushes are fine.
 */
import { randomUUID } from "node:crypto";

import type { ChatOutput, ChatOutputEvent, InvalidToolCall, ParsedToolCall } from "./chat_types.js";
import { JsonValueScanner } from "./json_scanner.js";

export type { ChatOutput, ChatOutputEvent, InvalidToolCall, ParsedToolCall } from "./chat_types.js";

export interface ChatOutputParserOptions {
  /** The prompt ends inside `<think>`: the output starts as reasoning. */
  startInReasoning?: boolean;
  /** Read `<tool_call>` blocks (default true); when false they stay in the text. */
  parseToolCalls?: boolean;
  /** A forced call: the turn ends when the first call's JSON is complete. */
  stopAfterFirstToolCall?: boolean;
  /**
   * Constrained calls under `auto` (strict tools): a call ends with its `{"name", "arguments"}`
   * object, even without `</tool_call>`; the text after it is reply text, and another
   * `<tool_call>` opens the next call.
   */
  closeCallsAtJsonEnd?: boolean;
  /** Structured output: the turn ends when the reply text is a complete JSON value. */
  stopAfterJson?: boolean;
  /** Makes ids for tool calls (default `call_` + 24 hex digits). */
  newToolCallId?: () => string;
}

type State = "content" | "reasoning" | "response" | "tool_call" | "done";

const THINK = "<think>";
const THINK_END = "</think>";
const RESPONSE = "<response>";
const RESPONSE_END = "</response>";
const TOOL_CALL = "<tool_call>";
const TOOL_CALL_END = "</tool_call>";

/** The head of a call, up to where the arguments start. */
const CALL_HEAD = /^\s*\{\s*"name"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*"arguments"\s*:\s*/;
/**
 * A call body this long without a head is read whole at the end instead of streamed: each push
 * tries the head pattern on the body so far, and this keeps that bounded per token.
 */
const MAX_CALL_HEAD = 1024;
/** Characters held back at the end of streamed arguments: the call object's closing brace may be among them. */
const CLOSER = /[\s}]/;

interface OpenCall {
  index: number;
  id: string;
  body: string;
  name?: string;
  /** Where the arguments start in `body`, once the head was read. */
  argsStart?: number;
  /** Characters of the arguments already streamed. */
  emitted: number;
  /** Forced calls: finds the end of the arguments (or of the whole object, before the head is read). */
  scanner?: JsonValueScanner;
  scanned: number;
  /** Where the trailing run of whitespace and "}" in `body` starts (kept up to date as text comes). */
  closersFrom: number;
  /** closeCallsAtJsonEnd: finds the end of the whole call object. */
  whole?: JsonValueScanner;
}

function defaultToolCallId(): string {
  return `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`;
}

function tryParseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** `{name, arguments}` from a parsed block, or why it is not a call. */
function readCall(value: unknown): { name: string; arguments: Record<string, unknown> } | string {
  if (!value || typeof value !== "object" || Array.isArray(value)) return "the tool call is not a JSON object";
  const { name, arguments: args } = value as { name?: unknown; arguments?: unknown };
  if (typeof name !== "string" || name.length === 0) return 'the tool call has no "name" string';
  let parsedArgs: unknown = args ?? {};
  if (typeof parsedArgs === "string") {
    const r = tryParseJson(parsedArgs);
    if (!r.ok) return `the arguments string is not JSON: ${r.error}`;
    parsedArgs = r.value;
  }
  if (!parsedArgs || typeof parsedArgs !== "object" || Array.isArray(parsedArgs))
    return 'the tool call\'s "arguments" is not a JSON object';
  return { name, arguments: parsedArgs as Record<string, unknown> };
}

export class ChatOutputParser {
  private state: State;
  private pending = "";
  private readonly out: ChatOutput = { content: "", reasoning: "", toolCalls: [], invalidToolCalls: [] };
  /** A newline held back in reasoning / response text: dropped if the closing marker follows. */
  private heldNewline = "";
  private stripLeadingNewlines = false;
  private responseStart = false;
  /** Whitespace after a tool call or response: kept only if more reply text follows. */
  private holdWhitespace = false;
  private heldWhitespace = "";
  private call: OpenCall | undefined;
  private nextIndex = 0;
  private readonly jsonScanner: JsonValueScanner | undefined;
  private readonly newToolCallId: () => string;
  /** Text read past the end of a call object: parsed again, from the state after the call. */
  private requeue = "";

  constructor(private readonly options: ChatOutputParserOptions = {}) {
    this.state = options.startInReasoning ? "reasoning" : "content";
    this.jsonScanner = options.stopAfterJson ? new JsonValueScanner() : undefined;
    this.newToolCallId = options.newToolCallId ?? defaultToolCallId;
  }

  /** True once the turn is over (a forced call or a structured reply is complete): stop generating. */
  get done(): boolean {
    return this.state === "done";
  }

  /** True while the output is reasoning. */
  get inReasoning(): boolean {
    return this.state === "reasoning";
  }

  /** Everything parsed so far. */
  result(): ChatOutput {
    return { ...this.out, toolCalls: [...this.out.toolCalls], invalidToolCalls: [...this.out.invalidToolCalls] };
  }

  /** Reads more output text; returns what it completed. */
  push(text: string): ChatOutputEvent[] {
    const events: ChatOutputEvent[] = [];
    if (this.state === "done") return events;
    this.pending += text;
    this.drain(events, false);
    return events;
  }

  /** Ends the output: flushes held text and closes an unterminated tool call. */
  finish(): ChatOutputEvent[] {
    const events: ChatOutputEvent[] = [];
    if (this.state === "done") return events;
    this.drain(events, true);
    if (this.state === "tool_call") this.closeCall(events, "unterminated");
    if (this.state === "reasoning" && this.heldNewline) this.emitReasoning(events, this.heldNewline);
    this.heldNewline = "";
    this.state = "done";
    return events;
  }

  private markers(): string[] {
    switch (this.state) {
      case "reasoning":
        return [THINK_END];
      case "response":
        return [RESPONSE_END];
      case "tool_call":
        return [TOOL_CALL_END];
      default:
        return this.options.parseToolCalls === false
          ? [THINK, THINK_END, RESPONSE, RESPONSE_END]
          : [THINK, THINK_END, RESPONSE, RESPONSE_END, TOOL_CALL, TOOL_CALL_END];
    }
  }

  private drain(events: ChatOutputEvent[], final: boolean): void {
    while (this.pending.length > 0 && this.state !== "done") {
      const markers = this.markers();
      let at = -1;
      let marker = "";
      for (const m of markers) {
        const i = this.pending.indexOf(m);
        if (i >= 0 && (at < 0 || i < at)) [at, marker] = [i, m];
      }
      if (at < 0) {
        const keep = final ? 0 : partialMarkerLength(this.pending, markers);
        const chunk = this.pending.slice(0, this.pending.length - keep);
        this.pending = this.pending.slice(this.pending.length - keep);
        this.onText(events, chunk, false);
        if (!this.requeue) return;
        [this.pending, this.requeue] = [this.requeue + this.pending, ""];
        continue;
      }
      const before = this.pending.slice(0, at);
      this.pending = this.pending.slice(at + marker.length);
      this.onText(events, before, true);
      if (this.requeue) {
        [this.pending, this.requeue] = [this.requeue + marker + this.pending, ""];
        continue;
      }
      if (!this.done) this.onMarker(events, marker);
    }
  }

  /** `beforeMarker`: the text ends where a marker of the current state starts. */
  private onText(events: ChatOutputEvent[], text: string, beforeMarker: boolean): void {
    switch (this.state) {
      case "reasoning":
        this.emitReasoning(events, this.takeHeldNewline(text, beforeMarker));
        return;
      case "response": {
        let t = text;
        if (this.responseStart && t.length > 0) {
          if (t.startsWith("\n")) t = t.slice(1);
          this.responseStart = false;
        }
        this.emitContent(events, this.takeHeldNewline(t, beforeMarker));
        return;
      }
      case "tool_call": {
        const c = this.call;
        if (!c) return;
        let t = text;
        let objectEnded = false;
        if (c.whole) {
          const end = c.whole.push(t);
          if (end >= 0) [t, this.requeue, objectEnded] = [t.slice(0, end), t.slice(end), true];
        }
        let k = t.length;
        while (k > 0 && CLOSER.test(t[k - 1]!)) k--;
        if (k > 0) c.closersFrom = c.body.length + k;
        c.body += t;
        this.advanceCall(events);
        if (objectEnded && this.call === c) this.closeCall(events, "closed");
        return;
      }
      case "content":
        this.onContentText(events, text);
        return;
      default:
        return;
    }
  }

  /** Holds back one trailing newline until it is known whether a closing marker follows it. */
  private takeHeldNewline(text: string, beforeMarker: boolean): string {
    let t = this.heldNewline + text;
    this.heldNewline = "";
    if (beforeMarker) return t.endsWith("\n") ? t.slice(0, -1) : t;
    if (t.endsWith("\n")) {
      this.heldNewline = "\n";
      t = t.slice(0, -1);
    }
    return t;
  }

  private onContentText(events: ChatOutputEvent[], text: string): void {
    let t = text;
    if (this.stripLeadingNewlines) {
      t = t.replace(/^\n+/, "");
      if (t.length > 0) this.stripLeadingNewlines = false;
    }
    if (this.holdWhitespace) {
      t = this.heldWhitespace + t;
      if (t.trim().length === 0) {
        this.heldWhitespace = t;
        return;
      }
      this.holdWhitespace = false;
      this.heldWhitespace = "";
    }
    this.emitContent(events, t);
  }

  private onMarker(events: ChatOutputEvent[], marker: string): void {
    switch (marker) {
      case THINK:
        this.state = "reasoning";
        return;
      case THINK_END:
        this.state = "content";
        this.stripLeadingNewlines = true;
        return;
      case RESPONSE:
        this.state = "response";
        this.responseStart = true;
        return;
      case RESPONSE_END:
        this.state = "content";
        this.holdWhitespace = true;
        return;
      case TOOL_CALL:
        this.heldWhitespace = "";
        this.state = "tool_call";
        this.call = {
          index: this.nextIndex++,
          id: this.newToolCallId(),
          body: "",
          emitted: 0,
          scanned: 0,
          closersFrom: 0,
        };
        if (this.options.stopAfterFirstToolCall) this.call.scanner = new JsonValueScanner();
        else if (this.options.closeCallsAtJsonEnd) this.call.whole = new JsonValueScanner();
        return;
      case TOOL_CALL_END:
        if (this.state === "tool_call") this.closeCall(events, "closed");
        else if (this.holdWhitespace) this.heldWhitespace = ""; // the closer of a call that ended at its object
        return; // a stray closing marker in text is dropped
      default:
        return;
    }
  }

  private emitContent(events: ChatOutputEvent[], text: string): void {
    let t = text;
    if (t.length === 0) return;
    let complete = false;
    if (this.jsonScanner) {
      const end = this.jsonScanner.push(t);
      if (end >= 0) {
        t = t.slice(0, end);
        complete = true;
      }
    }
    this.out.content += t;
    events.push({ type: "text", text: t });
    if (complete) this.state = "done";
  }

  private emitReasoning(events: ChatOutputEvent[], text: string): void {
    if (text.length === 0) return;
    this.out.reasoning += text;
    events.push({ type: "reasoning", text });
  }

  /** Reads the head once it is there, streams the arguments, and ends forced calls when complete. */
  private advanceCall(events: ChatOutputEvent[]): void {
    const c = this.call!;
    if (c.argsStart === undefined) {
      // Stream once the arguments visibly start as an object; anything else is read whole at the end.
      const head = c.body.length <= MAX_CALL_HEAD ? CALL_HEAD.exec(c.body) : null;
      const name = head && c.body[head[0].length] === "{" ? tryParseJson(`"${head[1]}"`) : undefined;
      if (head && name?.ok) {
        c.name = name.value as string;
        c.argsStart = head[0].length;
        if (c.scanner) [c.scanner, c.scanned] = [new JsonValueScanner(), 0];
        events.push({ type: "tool_call_begin", index: c.index, id: c.id, name: c.name });
      } else if (c.scanner) {
        // Forced call whose head is not in the usual order: wait for the whole object.
        const start = c.scanned;
        const end = c.scanner.push(c.body.slice(start));
        c.scanned = c.body.length;
        if (end >= 0) {
          c.body = c.body.slice(0, start + end);
          this.closeCall(events, "closed");
        }
        return;
      } else {
        return;
      }
    }
    const args = c.body.slice(c.argsStart);
    if (c.scanner) {
      const fresh = args.slice(c.scanned);
      const end = c.scanner.push(fresh);
      if (end >= 0) {
        c.body = c.body.slice(0, c.argsStart + c.scanned + end);
        this.closeCall(events, "complete");
        return;
      }
      c.scanned = args.length;
    }
    // Hold back closing braces and whitespace: the last "}" belongs to the call object.
    const safe = Math.max(0, c.closersFrom - c.argsStart);
    if (safe > c.emitted) {
      events.push({ type: "tool_call_delta", index: c.index, arguments: args.slice(c.emitted, safe) });
      c.emitted = safe;
    }
  }

  /**
   * Ends the open call. `closed`: `</tool_call>` came (or a forced object completed); `complete`:
   * a forced call's arguments completed (the object's "}" is not there); `unterminated`: the
   * output ended inside the block.
   */
  private closeCall(events: ChatOutputEvent[], how: "closed" | "complete" | "unterminated"): void {
    const c = this.call!;
    this.call = undefined;
    this.state = this.options.stopAfterFirstToolCall ? "done" : "content";
    this.holdWhitespace = true;
    this.heldWhitespace = "";

    const body = c.body.trim();
    let parsed = tryParseJson(body);
    let objectClosed = parsed.ok;
    if (!parsed.ok && how !== "closed") {
      const repaired = tryParseJson(`${body}}`);
      if (repaired.ok) [parsed, objectClosed] = [repaired, false];
    }
    const call = parsed.ok ? readCall(parsed.value) : `the tool call is not valid JSON: ${parsed.error}`;

    // The arguments' own text: after the head, without the object's closing brace.
    const head = c.argsStart === undefined ? CALL_HEAD.exec(c.body) : undefined;
    const argsStart = c.argsStart ?? head?.[0].length;
    let rawArgs = body;
    if (argsStart !== undefined) {
      rawArgs = c.body.slice(argsStart).trimEnd();
      const closedInText = parsed.ok ? objectClosed : how === "closed";
      if (closedInText && rawArgs.endsWith("}")) rawArgs = rawArgs.slice(0, -1).trimEnd();
    }
    if (c.argsStart !== undefined && rawArgs.length > c.emitted)
      events.push({ type: "tool_call_delta", index: c.index, arguments: rawArgs.slice(c.emitted) });

    if (typeof call === "string") {
      const headName = head ? tryParseJson(`"${head[1]}"`) : undefined;
      const name = c.name ?? (headName?.ok ? (headName.value as string) : undefined);
      const invalid: InvalidToolCall = {
        index: c.index,
        id: c.id,
        ...(name !== undefined ? { name } : {}),
        arguments: rawArgs,
        error: call,
      };
      this.out.invalidToolCalls.push(invalid);
      events.push({ type: "tool_call_invalid", call: invalid, begun: c.argsStart !== undefined });
      return;
    }
    if (c.argsStart === undefined) {
      events.push({ type: "tool_call_begin", index: c.index, id: c.id, name: call.name });
      events.push({ type: "tool_call_delta", index: c.index, arguments: JSON.stringify(call.arguments) });
    }
    const done: ParsedToolCall = { index: c.index, id: c.id, name: call.name, arguments: call.arguments };
    this.out.toolCalls.push(done);
    events.push({ type: "tool_call_end", call: done });
  }
}

/** Length of the longest end of `text` that could be the start of one of `markers`. */
function partialMarkerLength(text: string, markers: string[]): number {
  let best = 0;
  for (const m of markers) {
    for (let n = Math.min(m.length - 1, text.length); n > best; n--) {
      if (text.endsWith(m.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}
