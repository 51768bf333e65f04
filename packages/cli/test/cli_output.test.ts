// What the CLI prints while it works: a progress line redrawn in place on a terminal and plain lines
// elsewhere; the server's logs readable on a terminal and JSON lines when piped.
import { describe, expect, it } from "vitest";

import { formatLogLine, logDestination } from "../src/log_format.js";
import { ProgressLine, withProgress } from "@wenxin/engine/internal";
import { adaptersFromFlags } from "../src/commands/serve.js";

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, write: (s: string) => out.push(s) } };
}

describe("progress line", () => {
  it("prints a start and an end line when not a terminal, nothing in between", async () => {
    const { out, stream } = sink(false);
    await withProgress(
      "converting m",
      (line) => {
        for (let i = 1; i <= 50; i++) line.update(i, 50, "tensors");
      },
      stream,
    );
    expect(out).toHaveLength(2);
    expect(out[0]).toBe("converting m...\n");
    expect(out[1]).toMatch(/^converting m: done in \d+\.\d s\n$/);
  });

  it("redraws one line in place on a terminal, and ends it with a newline", () => {
    const { out, stream } = sink(true);
    const line = new ProgressLine("loading m", stream);
    line.update(3, 3, "tensors");
    line.done("loaded");
    expect(out.every((s) => s.startsWith("\r"))).toBe(true);
    expect(out.slice(0, -1).every((s) => !s.includes("\n"))).toBe(true);
    expect(out.some((s) => s.includes("3/3 tensors"))).toBe(true);
    expect(out.at(-1)).toBe("\rloading m: loaded\x1b[K\n");
  });

  it("says when the step failed, and passes the error on", async () => {
    const { out, stream } = sink(false);
    await expect(
      withProgress(
        "quantizing m",
        () => {
          throw new Error("boom");
        },
        stream,
      ),
    ).rejects.toThrow("boom");
    expect(out.at(-1)).toMatch(/^quantizing m: failed after/);
  });
});

describe("serve logs", () => {
  const line = JSON.stringify({
    level: 30,
    time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    pid: 1,
    hostname: "h",
    reqId: "req-1",
    msg: "request completed",
    statusCode: 200,
    url: "/v1/models",
  });

  it("are JSON lines, untouched, when stdout is not a terminal", () => {
    const out = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
    expect(logDestination(out)).toBe(out);
  });

  it("are one readable line per record on a terminal, level coloured", async () => {
    expect(formatLogLine(line, false)).toBe(
      "03:04:05.678 INFO  request completed reqId=req-1 statusCode=200 url=/v1/models",
    );
    expect(formatLogLine(line, true)).toContain("\x1b[32mINFO \x1b[0m");
    const written: string[] = [];
    const dest = logDestination({
      isTTY: true,
      write: (s: string) => written.push(s),
    } as unknown as NodeJS.WriteStream);
    dest.write(`${line}\n${line.slice(0, 10)}`);
    dest.write(`${line.slice(10)}\n`);
    await new Promise((r) => setImmediate(r));
    expect(written).toHaveLength(2);
    expect(written[1]).toBe(written[0]);
  });

  it("show an error's message and stack below the line", () => {
    const text = formatLogLine(
      JSON.stringify({
        level: 50,
        time: 0,
        msg: "model failed to load",
        err: { message: "no file", stack: "Error: no file\n    at x" },
      }),
      false,
    );
    expect(text.split("\n")[0]).toBe('00:00:00.000 ERROR model failed to load err="no file"');
    expect(text).toContain("\n    Error: no file");
  });

  it("pass a line that is not JSON through", () => {
    expect(formatLogLine("plain text", true)).toBe("plain text");
  });
});

describe("--adapter", () => {
  it("takes NAME=DIR, repeated", () => {
    expect(adaptersFromFlags({ adapter: ["a=/x", "b=org/name"] })).toEqual({ a: "/x", b: "org/name" });
    expect(adaptersFromFlags({})).toEqual({});
  });

  it("refuses a spec without a name or a directory, and a name given twice", () => {
    expect(() => adaptersFromFlags({ adapter: ["=/x"] })).toThrow("--adapter takes NAME=DIR");
    expect(() => adaptersFromFlags({ adapter: ["a="] })).toThrow("--adapter takes NAME=DIR");
    expect(() => adaptersFromFlags({ adapter: ["a=/x", "a=/y"] })).toThrow("given twice");
  });
});
