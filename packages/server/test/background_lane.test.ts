// BackgroundLane: background work (the output of requests whose clients lagged) gets one piece per
// turn of the event loop, so that what arrives meanwhile (a socket's data, a timer) is served
// between two pieces, never after all of them.
import { createServer, connect, type Socket } from "node:net";

import { describe, expect, it } from "vitest";

import { BackgroundLane } from "../src/background_lane.js";

/** Busy-waits `ms` on this thread: a piece of work that holds the event loop. */
function hold(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe("BackgroundLane", () => {
  it("lets one waiter through per turn of the event loop, in order", async () => {
    const lane = new BackgroundLane();
    const order: string[] = [];
    const work = [0, 1, 2, 3].map(async (i) => {
      await lane.turn();
      order.push(`work ${i}`);
    });
    // an immediate queued by someone else after the waiters runs before the second of them
    setImmediate(() => order.push("other"));
    await Promise.all(work);
    expect(order).toEqual(["work 0", "other", "work 1", "work 2", "work 3"]);
    expect(lane.pending).toBe(0);
  });

  it("serves a socket's data between two pieces of background work, not after all of them", async () => {
    const lane = new BackgroundLane();
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const client = connect(port, "127.0.0.1");
    const accepted = await new Promise<Socket>((r) => server.once("connection", r));
    let pieces = 0;
    let seenAfter: number | undefined;
    accepted.once("data", () => (seenAfter = pieces));
    // 20 pieces of 10 ms each, as 20 lagging requests' engine output would arrive: in one go
    const work = Array.from({ length: 20 }, async () => {
      await lane.turn();
      if (pieces === 2) client.write("a request"); // arrives while background work is queued
      hold(10);
      pieces++;
    });
    await Promise.all(work);
    await new Promise((r) => setImmediate(r));
    client.destroy();
    accepted.destroy();
    server.close();
    // handled a piece or two after it arrived (once the kernel had it), not after the 20
    expect(seenAfter).toBeDefined();
    expect(seenAfter!).toBeLessThan(8);
  });
});
