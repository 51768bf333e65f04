/**
 * Disconnects clients that stop taking what the server writes. A socket whose outgoing data has
 * sat unsent (the kernel's buffers full, nothing drained) for `timeoutMs` is destroyed; the request
 * on it then aborts like any disconnect, which frees its admission slot, engine sequence and KV
 * blocks. Sockets with nothing to send (a long prefill, an idle keep-alive) are never touched.
 * One timer serves every socket.
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";

interface Watched {
  /** Bytes queued in user space at the last look. */
  pending: number;
  /** When the socket last had nothing pending, drained, or sent part of its backlog. */
  progressAt: number;
}

export class StallWatch {
  private readonly sockets = new Map<Socket, Watched>();
  private readonly stalled = new WeakSet<Socket>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly onStall: (socket: Socket) => void = () => undefined,
  ) {}

  /** Watches every connection `server` accepts from now on. A timeout of 0 watches nothing. */
  attach(server: Server): void {
    if (this.timeoutMs <= 0) return;
    server.on("connection", (socket: Socket) => this.watch(socket));
    this.timer = setInterval(() => this.tick(), Math.min(1000, Math.max(25, this.timeoutMs / 4)));
    this.timer.unref();
  }

  /** True when this socket was cut off for not reading. */
  cutOff(socket: Socket | null | undefined): boolean {
    return !!socket && this.stalled.has(socket);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sockets.clear();
  }

  private watch(socket: Socket): void {
    const entry: Watched = { pending: 0, progressAt: performance.now() };
    this.sockets.set(socket, entry);
    socket.on("drain", () => (entry.progressAt = performance.now()));
    socket.once("close", () => this.sockets.delete(socket));
  }

  private tick(): void {
    const now = performance.now();
    for (const [socket, entry] of this.sockets) {
      const pending = socket.writableLength;
      if (pending === 0 || pending < entry.pending) entry.progressAt = now;
      entry.pending = pending;
      if (pending > 0 && now - entry.progressAt >= this.timeoutMs) {
        this.sockets.delete(socket);
        this.stalled.add(socket);
        this.onStall(socket);
        socket.destroy();
      }
    }
  }
}
