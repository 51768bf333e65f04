import { startServer } from "@wenxin/server";

import { numberOption, parseCommandArgs, type Command } from "./command.js";

const USAGE = `Usage: wenxin serve --model DIR [options]

Serves the model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions,
/v1/embeddings, /v1/models, /health, /metrics). Logs are JSON lines on stdout.
SIGTERM or Ctrl-C drains: requests in flight finish, new ones get 503, then the process exits.

Options:
  --model DIR              checkpoint directory
  --host HOST              interface to bind (default 127.0.0.1: this machine only)
  --port N                 default 8000; 0 picks a free port
  --api-key KEY            require 'Authorization: Bearer KEY' on every route but /health
                           (default: $WENXIN_API_KEY, else none)
  --metrics-key KEY        a second key that opens /metrics only, for scrapers (default: $WENXIN_METRICS_KEY)
  --model-name NAME        the model id clients send (default: the directory's name)
  --max-concurrency N      requests generating at once (default 64)
  --max-queue N            requests waiting beyond that before 429 (default 1024)
  --max-context N          tokens per sequence, prompt + completion (default 4096)
  --kv-cache-tokens N      KV cache budget over all requests (default 4 × max-context)
  --default-max-tokens N   completion length when a chat request sets none (default: the rest of the context)
  --body-limit BYTES       largest request body; larger ones get 413 (default 4194304)
  --request-timeout S      seconds a client may take to send its request; 408 after (default 60, 0 = none)
  --drain-timeout S        seconds to wait for requests in flight on shutdown (default 30)
  --threads N              threads of the forward pass (default: all CPUs)
  --log-level LEVEL        fatal|error|warn|info|debug|trace|silent (default info)`;

type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export const serveCommand: Command = {
  summary: "serve a model over an OpenAI-compatible HTTP API",
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        model: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "api-key": { type: "string" },
        "metrics-key": { type: "string" },
        "model-name": { type: "string" },
        "max-concurrency": { type: "string" },
        "max-queue": { type: "string" },
        "max-context": { type: "string" },
        "kv-cache-tokens": { type: "string" },
        "default-max-tokens": { type: "string" },
        "body-limit": { type: "string" },
        "request-timeout": { type: "string" },
        "drain-timeout": { type: "string" },
        threads: { type: "string" },
        "log-level": { type: "string" },
      },
      USAGE,
    );
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!values.model) {
      console.error(`wenxin serve: --model DIR is required\n\n${USAGE}`);
      return 1;
    }
    const drainSeconds = numberOption(values["drain-timeout"], "drain-timeout");
    const requestSeconds = numberOption(values["request-timeout"], "request-timeout");
    const server = await startServer({
      model: values.model,
      loadOptions: {
        threads: numberOption(values.threads, "threads"),
        maxContext: numberOption(values["max-context"], "max-context"),
        kvCacheTokens: numberOption(values["kv-cache-tokens"], "kv-cache-tokens"),
      },
      host: values.host,
      port: numberOption(values.port, "port"),
      apiKey: values["api-key"] ?? (process.env.WENXIN_API_KEY || undefined),
      metricsKey: values["metrics-key"] ?? (process.env.WENXIN_METRICS_KEY || undefined),
      modelName: values["model-name"],
      maxConcurrency: numberOption(values["max-concurrency"], "max-concurrency"),
      maxQueue: numberOption(values["max-queue"], "max-queue"),
      defaultMaxTokens: numberOption(values["default-max-tokens"], "default-max-tokens"),
      drainTimeoutMs: drainSeconds === undefined ? undefined : Math.round(drainSeconds * 1000),
      bodyLimit: numberOption(values["body-limit"], "body-limit"),
      requestTimeoutMs: requestSeconds === undefined ? undefined : Math.round(requestSeconds * 1000),
      logLevel: values["log-level"] as LogLevel | undefined,
    });

    // The first signal drains; a second one while draining stops at once.
    let signals = 0;
    const stopped = new Promise<number>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        if (++signals > 1) {
          server.logger.warn({ signal }, "second signal: exiting without draining");
          process.exit(1);
        }
        server.logger.info({ signal }, "shutting down");
        server.drain().then(
          () => resolve(0),
          (err: unknown) => {
            server.logger.error({ err }, "drain failed");
            resolve(1);
          },
        );
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
    });

    try {
      await server.model.ready;
    } catch {
      // The server already logged why; a server without its model is of no use.
      await server.drain();
      return 1;
    }
    return stopped;
  },
};
