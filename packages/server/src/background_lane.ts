/**
 * The event loop's share for requests whose clients lagged. A request once paused for a client that
 * stopped reading is background work in the engine (native/test/scheduler_test.cpp); its output
 * still costs the event loop: a stalled client of the abuse benchmark asks for 16 choices with 20
 * log-probability alternatives, whose entries, JSON and socket writes were a fifth of the event
 * loop's time at the abuse window's start, in bursts as such clients resumed together (a CPU profile
 * of the server, 2026-12-03). Handled as the engine delivers it, that work ran in one stretch with
 * everyone else's, and a normal request arriving meanwhile waited for all of it.
 *
 * `turn()` resolves one waiter per turn of the event loop (a setImmediate chain: one scheduled
 * while the loop's check phase runs waits for its next iteration), so between two pieces of
 * background work the loop polls its sockets, runs its timers and serves everyone else.
 */
export class BackgroundLane {
  private readonly waiting: (() => void)[] = [];
  private scheduled = false;

  /** Resolves on a later turn of the event loop than any waiter before it. */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
    });
  }

  /** Waiters not yet let through. */
  get pending(): number {
    return this.waiting.length;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.waiting.shift()?.();
      if (this.waiting.length > 0) this.schedule();
    });
  }
}
