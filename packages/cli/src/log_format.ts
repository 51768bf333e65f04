/**
 * `wenxin serve`'s logs: pino's JSON lines when stdout is a pipe or a file (for log collectors),
 * readable lines with coloured levels when it is a terminal. NO_COLOR turns the colours off.
 */
import { Writable } from "node:stream";

const LEVELS: Record<number, [string, string]> = {
  10: ["TRACE", "\x1b[90m"],
  20: ["DEBUG", "\x1b[36m"],
  30: ["INFO ", "\x1b[32m"],
  40: ["WARN ", "\x1b[33m"],
  50: ["ERROR", "\x1b[31m"],
  60: ["FATAL", "\x1b[35m"],
};
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

function fieldValue(v: unknown): string {
  if (typeof v === "string") return /^[^\s"=]*$/.test(v) && v.length > 0 ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

/** One pino JSON line as `HH:MM:SS.mmm LEVEL message key=value …` (an error's stack on the lines below). */
export function formatLogLine(line: string, color: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (!record || typeof record !== "object") return line;
  const { level, time, msg, pid: _pid, hostname: _hostname, err, ...rest } = record;
  const [name, tint] = LEVELS[level as number] ?? [String(level), ""];
  const paint = (code: string, text: string) => (color && code ? `${code}${text}${RESET}` : text);
  const clock = typeof time === "number" ? new Date(time).toISOString().slice(11, 23) : "";
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${fieldValue(v)}`);
  const error = err as { message?: string; stack?: string; type?: string } | undefined;
  if (error?.message !== undefined) fields.unshift(`err=${fieldValue(error.message)}`);
  let out = `${paint(DIM, clock)} ${paint(tint, name)} ${typeof msg === "string" ? msg : ""}`;
  if (fields.length > 0) out += ` ${paint(DIM, fields.join(" "))}`;
  if (error?.stack) out += `\n${paint(DIM, error.stack.replace(/^/gm, "    "))}`;
  return out;
}

/** Where the server's logs go: `out` itself when piped, a readable rewrite of each line on a terminal. */
export function logDestination(out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): {
  write(text: string): unknown;
} {
  if (!out.isTTY) return out;
  const color = !process.env.NO_COLOR;
  let pending = "";
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) if (line) out.write(`${formatLogLine(line, color)}\n`);
      done();
    },
  });
}
