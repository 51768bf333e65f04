/**
 * Request bodies as JSON, with large ones decoded and parsed on a worker thread. Decoding and
 * parsing a body near the 4 MiB limit takes tens of milliseconds (2000 CJK texts: UTF-8 decoding
 * alone is most of it), and on the event loop that delays every other request meanwhile; what the
 * event loop does for such a body is now one copy of its bytes (fastify gathers the chunks) and the
 * structured clone of the parsed value. Small bodies, most of them, are parsed here: a worker's
 * round trip would cost them more than it saves.
 *
 * Two lanes (`JobThreads`, one worker thread each, at the process's priority): bodies up to
 * `BULK_BODY_BYTES` on one, larger ones on the other, so that a moderately large body never waits
 * behind the largest. The largest are not parsed at a lower priority: a worker below the
 * process's priority is a child process (a low-priority thread would hold locks the event loop
 * takes, see JobThreads), and copying a 4 MiB body over its IPC channel costs the event loop as
 * much as parsing it here, where a worker thread takes the body's bytes without a copy.
 *
 * The worker does what fastify's default JSON parser does (secure-json-parse with `__proto__` and
 * `constructor.prototype` refused): the same value, or the same 400 `FST_ERR_CTP_INVALID_JSON_BODY`.
 */
import { createRequire } from "node:module";

import { JobThreads } from "@wenxin/engine/internal";
import { errorCodes, type FastifyInstance, type FastifyRequest } from "fastify";

/** Bodies over this many bytes are decoded and parsed on a worker thread. */
export const OFF_LOOP_BODY_BYTES = 64 * 1024;
/** Bodies over this many bytes are parsed on the second worker. */
export const BULK_BODY_BYTES = 512 * 1024;

// The worker module, as source (the server runs from src in tests, and a worker thread loads plain
// JavaScript); it parses with fastify's own secure-json-parse, whose path it is given.
const WORKER_MODULE = `data:text/javascript,${encodeURIComponent(`
import { createRequire } from "node:module";
let secureJson;
const decoder = new TextDecoder(); // replaces bad UTF-8 as Buffer#toString does
export function init(path) {
  secureJson = createRequire(path)(path);
}
export function handle(bytes) {
  try {
    return secureJson.parse(decoder.decode(bytes), null, { protoAction: "error", constructorAction: "error" });
  } catch {
    throw Object.assign(new Error("invalid JSON"), { code: "INVALID_JSON" });
  }
}
`)}`;

type Done = (err: Error | null, body?: unknown) => void;

/** One lane: a worker thread parsing bodies, first come first served. */
function parserThread(name: string): JobThreads<unknown> {
  const secureJsonParse = createRequire(import.meta.url).resolve("secure-json-parse");
  return new JobThreads<unknown>({
    name,
    module: WORKER_MODULE,
    data: () => secureJsonParse,
    failed: (f) =>
      f.code === "INVALID_JSON" ? new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY() : new Error(`${name}: ${f.message}`),
    // the bodies it held fail (a 500); the next body starts a new worker
    lost: (cause) => (cause instanceof Error ? cause : new Error(`${name}: ${String(cause)}`)),
  });
}

/**
 * Makes `app` read every body as JSON whatever its content type (curl's `-d` sends form
 * encoding), parsing those over `offLoopBytes` on a worker thread, and those over `bulkBytes` on
 * a second one.
 */
export function registerJsonBodies(
  app: FastifyInstance,
  { offLoopBytes = OFF_LOOP_BODY_BYTES, bulkBytes = BULK_BODY_BYTES } = {},
): void {
  const parseHere = app.getDefaultJsonParser("error", "error");
  const lanes = {
    fast: parserThread("the body parser thread"),
    bulk: parserThread("the bulk body parser thread"),
  };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (request: FastifyRequest, body: Buffer, done: Done) => {
    if (body.length <= offLoopBytes) {
      parseHere(request, body.toString("utf8"), done);
      return;
    }
    // fastify's body is a fresh Buffer.concat of the chunks; over 4 KiB it has an ArrayBuffer of
    // its own, which moves to the worker without a copy (anything else is copied first).
    const owns = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    const bytes = owns ? body : Buffer.from(body);
    (body.length > bulkBytes ? lanes.bulk : lanes.fast).run(bytes, { transfer: [bytes.buffer as ArrayBuffer] }).then(
      (value) => done(null, value),
      (err: Error) => done(err, undefined),
    );
  });
  // started with the server rather than with its first large body
  app.addHook("onReady", async () => {
    lanes.fast.warm();
    lanes.bulk.warm();
  });
  app.addHook("onClose", async () => {
    const closed = new Error("the server closed");
    lanes.fast.close(closed);
    lanes.bulk.close(closed);
  });
}
