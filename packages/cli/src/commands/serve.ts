import { startServer, type ServerOptionsInput } from "@wenxin/server";

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
  --metrics-key KEY        the only key /metrics then takes, for scrapers (default: $WENXIN_METRICS_KEY)
  --model-name NAME        the model id clients send (default: the directory's name)
  --log-level LEVEL        fatal|error|warn|info|debug|trace|silent (default info)

Limits (what each protects against: SECURITY.md):
  --max-concurrency N      sequences (prompts × n) generating at once (default 64)
  --max-queue N            requests waiting beyond that before 429 (default 1024)
  --max-context N          tokens per sequence, prompt + completion (default 4096)
  --kv-cache-tokens N      KV cache budget over all requests (default 4 × max-context)
  --default-max-tokens N   completion length when a chat request sets none (default: the rest of the context)
  --body-limit BYTES       largest request body; larger ones get 413 (default 4194304)
  --request-timeout S      seconds a client may take to send its request; 408 after (default 60, 0 = none)
  --stream-idle-timeout S  seconds a client may leave the server's output unread before it is
                           disconnected and its work freed (default 60, 0 = none)
  --max-stop-strings N     stop strings per request (default 16)
  --max-stop-length N      characters of the longest stop string (default 256)
  --max-embedding-inputs N inputs per embeddings request (default 2048)
  --max-embedding-tokens N tokens of all inputs of an embeddings request (default 65536)
  --drain-timeout S        seconds to wait for requests in flight on shutdown (default 30)

Engine:
  --threads N              threads of the forward pass (default: all CPUs)`;

/** How a flag's text becomes its option's value. */
type Unit = "string" | "number" | "seconds";

/** Every flag that sets one server option: flag → option and unit. */
const SERVER_FLAGS = {
  host: ["host", "string"],
  port: ["port", "number"],
  "api-key": ["apiKey", "string"],
  "metrics-key": ["metricsKey", "string"],
  "model-name": ["modelName", "string"],
  "log-level": ["logLevel", "string"],
  "max-concurrency": ["maxConcurrency", "number"],
  "max-queue": ["maxQueue", "number"],
  "default-max-tokens": ["defaultMaxTokens", "number"],
  "body-limit": ["bodyLimit", "number"],
  "request-timeout": ["requestTimeoutMs", "seconds"],
  "stream-idle-timeout": ["streamIdleTimeoutMs", "seconds"],
  "max-stop-strings": ["maxStopStrings", "number"],
  "max-stop-length": ["maxStopLength", "number"],
  "max-embedding-inputs": ["maxEmbeddingInputs", "number"],
  "max-embedding-tokens": ["maxEmbeddingTokens", "number"],
  "drain-timeout": ["drainTimeoutMs", "seconds"],
} as const satisfies Record<string, readonly [keyof ServerOptionsInput, Unit]>;

/** Keys that may also come from the environment, so they stay out of `ps` and shell history. */
const FROM_ENV = { "api-key": "WENXIN_API_KEY", "metrics-key": "WENXIN_METRICS_KEY" } as const;

function optionValue(text: string | undefined, flag: string, unit: Unit): string | number | undefined {
  if (unit === "string") return text;
  const n = numberOption(text, flag);
  return unit === "seconds" && n !== undefined ? Math.round(n * 1000) : n;
}

/** The server options the flags (and key variables) set; the server's schema validates them. */
export function serverOptionsFromFlags(values: Record<string, unknown>): ServerOptionsInput {
  const out: Record<string, unknown> = {};
  for (const [flag, [option, unit]] of Object.entries(SERVER_FLAGS)) {
    const env = FROM_ENV[flag as keyof typeof FROM_ENV];
    const text = (values[flag] as string | undefined) ?? (env ? process.env[env] || undefined : undefined);
    const value = optionValue(text, flag, unit);
    if (value !== undefined) out[option] = value;
  }
  return out as ServerOptionsInput;
}

export const serveCommand: Command = {
  summary: "serve a model over an OpenAI-compatible HTTP API",
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        model: { type: "string" },
        "max-context": { type: "string" },
        "kv-cache-tokens": { type: "string" },
        threads: { type: "string" },
        ...Object.fromEntries(Object.keys(SERVER_FLAGS).map((flag) => [flag, { type: "string" } as const])),
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
    const server = await startServer({
      model: values.model,
      loadOptions: {
        threads: numberOption(values.threads, "threads"),
        maxContext: numberOption(values["max-context"], "max-context"),
        kvCacheTokens: numberOption(values["kv-cache-tokens"], "kv-cache-tokens"),
      },
      ...serverOptionsFromFlags(values),
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
