/**
 * What the measurement children (measure.ts, concurrency_measure.ts) share: how a child runs (its
 * request as JSON in argv[2], one JSON line out, exit code 1 with the stack on failure), and
 * node-llama-cpp's greedy generation timed the way both protocols time it.
 */
import { performance } from "node:perf_hooks";

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function runMeasurementChild<R>(measure: (request: R) => Promise<unknown>): void {
  if (!process.argv[2]) return;
  measure(JSON.parse(process.argv[2]) as R).then(
    (m) => {
      process.stdout.write(JSON.stringify(m) + "\n");
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(String((err as Error)?.stack ?? err) + "\n");
      process.exit(1);
    },
  );
}

/** The subset of node-llama-cpp's LlamaContextSequence used here. */
interface LlamaSequence {
  clearHistory(): Promise<void>;
  evaluate(tokens: never[], options: { temperature: number }): AsyncIterable<unknown>;
}

/** Greedy tokens from a fresh sequence history: when the first one came, and how many came (at most n). */
export async function llamaGreedy(
  sequence: LlamaSequence,
  prompt: number[],
  n: number,
): Promise<{ firstAt: number; count: number }> {
  await sequence.clearHistory();
  let firstAt = 0;
  let count = 0;
  for await (const _token of sequence.evaluate(prompt as never[], { temperature: 0 })) {
    if (count === 0) firstAt = performance.now();
    if (++count >= n) break;
  }
  return { firstAt, count };
}
