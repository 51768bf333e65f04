/**
 * Starting and stopping a server. `startServer` listens at once and loads the model in the
 * background (requests get 503 until it is ready), so health checks see the process come up.
 */
import path from "node:path";

import { Engine, WenxinError, type LoadOptions } from "@wenxin/engine";
import { startConstraintThreads } from "@wenxin/engine/internal";
import type { FastifyInstance } from "fastify";
import { pino, type Logger } from "pino";

import { AdmissionQueue } from "./admission.js";
import { BackgroundLane } from "./background_lane.js";
import { buildApp } from "./app.js";
import { ServerMetrics } from "./metrics.js";
import { parseServerOptions, type ServerOptions, type ServerOptionsInput } from "./options.js";
import { ServedModel } from "./served_model.js";
import { StallWatch } from "./stall_watch.js";

export interface StartServerOptions extends ServerOptionsInput {
  /** A checkpoint directory to load, or an engine that is loaded (or loading) already. */
  model: string | Engine | Promise<Engine>;
  /** Engine options when `model` is a directory. */
  loadOptions?: LoadOptions;
  /**
   * LoRA adapters (PEFT directories) served beside the base model, as vLLM's `--lora-modules`: a
   * request whose `model` is an adapter's name generates with it; /v1/models lists them.
   */
  adapters?: Record<string, string>;
  /** A pino logger to use instead of the default (JSON lines on stdout at `logLevel`). */
  logger?: Logger;
  /** Where the default logger writes its JSON lines (default stdout). */
  logStream?: { write(line: string): unknown };
}

export interface WenxinServer {
  readonly app: FastifyInstance;
  readonly model: ServedModel;
  readonly metrics: ServerMetrics;
  readonly options: ServerOptions;
  readonly logger: Logger;
  /** `http://host:port` the server listens on. */
  readonly url: string;
  /**
   * Graceful stop: new requests get 503, those in flight finish (aborted after
   * `drainTimeoutMs`), then the listener closes, and the engine if the server loaded it.
   */
  drain(): Promise<void>;
}

function modelId(options: StartServerOptions): string {
  if (options.modelName) return options.modelName;
  if (typeof options.model === "string") return path.basename(path.resolve(options.model));
  if (options.model instanceof Engine) return path.basename(options.model.dir);
  return "wenxin";
}

export async function startServer(input: StartServerOptions): Promise<WenxinServer> {
  const { model: source, loadOptions, adapters = {}, logger: givenLogger, logStream, ...rest } = input;
  const options = parseServerOptions(rest);
  const logger =
    givenLogger ?? (logStream ? pino({ level: options.logLevel }, logStream) : pino({ level: options.logLevel }));
  const id = modelId(input);
  for (const name of Object.keys(adapters))
    if (name === id || name.length === 0)
      throw new WenxinError(
        "ERR_WENXIN_INVALID_ARGUMENT",
        `adapter name '${name}' must be non-empty and differ from the model's name '${id}'`,
        { subject: "adapters" },
      );

  const loaded = typeof source === "string" ? Engine.load(source, loadOptions) : Promise.resolve(source);
  // The model is ready once its adapters are loaded too; a bad adapter fails the load like a bad checkpoint.
  const engine = loaded.then(async (e) => {
    for (const [name, dir] of Object.entries(adapters)) await e.loadAdapter(name, dir);
    return e;
  });
  const model = new ServedModel(id, engine, new AdmissionQueue(options.maxConcurrency, options.maxQueue), {
    closeEngine: typeof source === "string", // an engine the caller passed in stays the caller's to close
    adapters: Object.keys(adapters),
  });
  const metrics = new ServerMetrics(model);
  const stalls = new StallWatch(options.streamIdleTimeoutMs, (socket) =>
    logger.info(
      { remoteAddress: socket.remoteAddress, idleMs: options.streamIdleTimeoutMs },
      "client read nothing for the stream idle timeout: disconnected",
    ),
  );
  const app = buildApp({ model, metrics, options, stalls, background: new BackgroundLane() }, logger);

  const loadStarted = performance.now();
  model.ready.then(
    (e) => {
      // Long prompts are tokenized on a worker thread: start it (and its copy of the tokenizer)
      // now rather than with the first long prompt.
      e.tokenizer.startThread();
      // and the constraint compiler's lanes: started with the first schema, they took tens of
      // milliseconds of the CPUs from the requests being served then (the abuse benchmark's
      // slowest normal requests were the ones beside the first schema request)
      startConstraintThreads();
      // and the tokens' byte strings that constrained decoding needs, rather than with the first schema
      try {
        e.prepareVocabulary();
      } catch (err) {
        logger.warn({ err }, "could not prepare the vocabulary for constrained decoding"); // the first schema will
      }
      logger.info(
        { model: model.id, dir: e.dir, maxContext: e.maxContext, ms: Math.round(performance.now() - loadStarted) },
        "model loaded",
      );
    },
    (err: unknown) => logger.error({ err, model: model.id }, "model failed to load"),
  );

  let url: string;
  try {
    url = await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    void model.drain(0);
    throw err;
  }

  let draining: Promise<void> | undefined;
  const drain = () =>
    (draining ??= (async () => {
      logger.info({ inFlight: model.inFlightCount, timeoutMs: options.drainTimeoutMs }, "draining");
      const { aborted } = await model.drain(options.drainTimeoutMs);
      await app.close();
      logger.info({ aborted }, "server stopped");
    })());

  return { app, model, metrics, options, logger, url, drain };
}
