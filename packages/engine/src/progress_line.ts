/**
 * One progress line for a long step (model load, quantize, convert, a benchmark's model build): on a terminal it is redrawn
 * in place with the elapsed time (and a count when the step reports one); elsewhere (a pipe, a log
 * file, CI) it prints a plain line when the step starts and one when it ends, nothing in between.
 */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export class ProgressLine {
  private readonly started = performance.now();
  private readonly tty: boolean;
  private detail = "";
  private lastDraw = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private finished = false;

  constructor(
    private readonly label: string,
    private readonly stream: ProgressStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
    if (this.tty) {
      this.draw();
      // redrawn while the step runs asynchronously (a load or quantize on the native side)
      this.timer = setInterval(() => this.draw(), 250);
      this.timer.unref();
    } else stream.write(`${label}...\n`);
  }

  /** Seconds since the step started. */
  get seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** A count (tensors written, ...) for the line; drawn at most every 100 ms. */
  update(done: number, total: number, unit = ""): void {
    this.detail = `${done}/${total}${unit ? ` ${unit}` : ""}`;
    if (this.tty && (performance.now() - this.lastDraw > 100 || done === total)) this.draw();
  }

  /** Ends the line with `summary` (default: the elapsed time). */
  done(summary = `done in ${this.seconds.toFixed(1)} s`): void {
    this.end(summary);
  }

  /** Ends the line when the step failed (the error itself is reported by the caller). */
  fail(): void {
    this.end(`failed after ${this.seconds.toFixed(1)} s`);
  }

  private end(summary: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearInterval(this.timer);
    this.stream.write(this.tty ? `\r${this.label}: ${summary}\x1b[K\n` : `${this.label}: ${summary}\n`);
  }

  private draw(): void {
    if (this.finished) return;
    this.lastDraw = performance.now();
    const detail = this.detail ? ` ${this.detail}` : "";
    this.stream.write(`\r${this.label}...${detail} ${this.seconds.toFixed(1)} s\x1b[K`);
  }
}

/** Runs `step` behind a progress line: done on success, fail (and rethrow) on error. */
export async function withProgress<T>(
  label: string,
  step: (line: ProgressLine) => T | Promise<T>,
  stream?: ProgressStream,
): Promise<T> {
  const line = new ProgressLine(label, stream);
  try {
    const out = await step(line);
    line.done();
    return out;
  } catch (err) {
    line.fail();
    throw err;
  }
}
