/**
 * Request bodies as JSON, with large ones decoded and parsed on a worker thread. Decoding and
 * parsing a body near the 4 MiB limit takes tens of milliseconds (2000 CJK texts: UTF-8 decoding
 * alone is most of it), and on the event loop that delays every other request meanwhile; what the
 * event loop does for such a body is now one copy of its bytes (fastify gathers the chunks) and the
 * structured clone of the parsed value. Small bodies, most of them, are parsed here: a worker's
 * round trip would cost them more than it saves.
 *
 * The worker does what fastify's default JSON parser does (secure-json-parse with `__proto__` and
 * `constructor.prototype` refused): the same value, or the same 400 `FST_ERR_CTP_INVALID_JSON_BODY`.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

import { errorCodes, type FastifyInstance, type FastifyRequest } from "fastify";

/** Bodies over this many bytes are decoded and parsed on the worker thread. */
export const OFF_LOOP_BODY_BYTES = 64 * 1024;

// Plain JavaScript, so that the worker needs no file of its own (the server runs from src in tests);
// it parses with fastify's own secure-json-parse, whose path it is given.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const secureJson = require(workerData.secureJsonParse);
const decoder = new TextDecoder(); // replaces bad UTF-8 as Buffer#toString does
parentPort.on("message", ({ id, bytes }) => {
  let value;
  try {
    value = secureJson.parse(decoder.decode(bytes), null, { protoAction: "error", constructorAction: "error" });
  } catch {
    parentPort.postMessage({ id, ok: false });
    return;
  }
  parentPort.postMessage({ id, ok: true, value });
});
`;

type Done = (err: Error | null, body?: unknown) => void;

/** The worker thread and the bodies it is parsing. */
class BodyParserThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Done>();
  private nextId = 1;

  parse(body: Buffer, done: Done): void {
    const worker = this.start();
    const id = this.nextId++;
    this.pending.set(id, done);
    worker.ref();
    // fastify's body is a fresh Buffer.concat of the chunks; over 4 KiB it has an ArrayBuffer of
    // its own, which moves to the worker without a copy (anything else is copied first).
    const owns = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    const bytes = owns ? body : Buffer.from(body);
    worker.postMessage({ id, bytes }, [bytes.buffer as ArrayBuffer]);
  }

  close(): void {
    this.fail(new Error("the server closed"));
  }

  start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { secureJsonParse: createRequire(import.meta.url).resolve("secure-json-parse") },
    });
    worker.unref();
    worker.on("message", (reply: { id: number; ok: boolean; value?: unknown }) => {
      const done = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (!done) return;
      if (reply.ok) done(null, reply.value);
      else done(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), undefined);
    });
    worker.on("error", (err) => this.fail(err));
    worker.on("exit", () => this.fail(new Error("the body parser thread exited")));
    this.worker = worker;
    return worker;
  }

  /** The worker is gone: the bodies it held fail (a 500), the next body starts a new one. */
  private fail(err: Error): void {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      worker.removeAllListeners();
      void worker.terminate();
    }
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const done of pending) done(err, undefined);
  }
}

/**
 * Makes `app` read every body as JSON whatever its content type (curl's `-d` sends form
 * encoding), parsing those over `OFF_LOOP_BODY_BYTES` on a worker thread.
 */
export function registerJsonBodies(app: FastifyInstance, offLoopBytes = OFF_LOOP_BODY_BYTES): void {
  const parseHere = app.getDefaultJsonParser("error", "error");
  const thread = new BodyParserThread();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (request: FastifyRequest, body: Buffer, done: Done) => {
    if (body.length <= offLoopBytes) parseHere(request, body.toString("utf8"), done);
    else thread.parse(body, done);
  });
  // started with the server rather than with its first large body
  app.addHook("onReady", async () => void thread.start());
  app.addHook("onClose", async () => thread.close());
}
