// Times `/health` from inside the test process, where the server's event loop runs. Wall time
// alone cannot tell a blocked event loop from a busy machine: on 2 vCPUs shared by several test
// runs, a thread that is ready to run may wait for a CPU for a long time. Linux counts that wait per
// thread (/proc/.../schedstat: time on the CPU, time waiting for one); a probe's `loopMs` is its wall
// time less the main thread's wait for a CPU meanwhile: the time the event loop took to answer on
// its own (working or blocked), as it would on an idle machine. Elsewhere it is the wall time.
import { readFileSync } from "node:fs";

/** Nanoseconds the main thread has spent ready to run but waiting for a CPU; undefined without /proc. */
function mainThreadRunQueueNs(): number | undefined {
  try {
    const [, waitNs] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ");
    const n = Number(waitNs);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Milliseconds the main thread (the event loop's) has spent on a CPU; undefined without /proc.
 * Unlike wall time, it does not grow while the thread waits for a CPU that others hold.
 */
export function mainThreadCpuMs(): number | undefined {
  try {
    const [onCpuNs] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ");
    const n = Number(onCpuNs);
    return Number.isFinite(n) ? n / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

export interface HealthSample {
  status: number;
  /** From sending the request to reading the whole answer. */
  wallMs: number;
  /** `wallMs` less the time the main thread waited for a CPU meanwhile (`wallMs` where that is unknown). */
  loopMs: number;
}

export async function probeHealth(url: string): Promise<HealthSample> {
  const wait0 = mainThreadRunQueueNs();
  const t0 = performance.now();
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(30_000) });
  await res.arrayBuffer();
  const wallMs = performance.now() - t0;
  const wait1 = mainThreadRunQueueNs();
  const waitedMs = wait0 === undefined || wait1 === undefined ? 0 : (wait1 - wait0) / 1e6;
  return { status: res.status, wallMs, loopMs: Math.max(0, wallMs - waitedMs) };
}
