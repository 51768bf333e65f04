import { readFileSync } from "node:fs";

import { LOAD_DEFAULTS, type LoadOptions } from "@wenxin/engine";
import { ProgressLine } from "@wenxin/engine/internal";
import { startServer, type ServerOptionsInput } from "@wenxin/server";

import { numberOption, parseCommandArgs, type Command } from "./command.js";
import { logDestination } from "../log_format.js";
import { resolveModelSource } from "./model_source.js";

const USAGE = `Usage: wenxin serve --model DIR|FILE|ID [options]

Serves the model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions,
/v1/embeddings, /v1/responses, /v1/models, /tokenize, /detokenize, /health, /metrics). Logs go to
stdout: JSON lines when it is piped or a file, readable coloured lines on a terminal (NO_COLOR: no colours).
SIGTERM or Ctrl-C drains: requests in flight finish, new ones get 503, then the process exits.

Options:
  --model DIR|FILE|ID      checkpoint directory, .gguf file, or hub id (org/name: pulled into the HF
                           cache first, and served under that name)
  --host HOST              interface to bind (default 127.0.0.1: this machine only)
  --port N                 default 8000; 0 picks a free port
  --api-key KEY            require 'Authorization: Bearer KEY' on every route but /health
                           (default: $WENXIN_API_KEY, else none)
  --metrics-key KEY        the only key /metrics then takes, for scrapers (default: $WENXIN_METRICS_KEY)
  --model-name NAME        the model id clients send (default: the directory's name)
  --cors ORIGIN            let browser pages from ORIGIN call the API (repeatable; * for any; default: off)
  --log-level LEVEL        fatal|error|warn|info|debug|trace|silent (default info)

Limits (what each protects against: SECURITY.md):
  --max-concurrency N      sequences (prompts × n) generating at once (default 64)
  --max-queue N            requests waiting beyond that before 429 (default 1024)
  --max-context N          tokens per sequence, prompt + completion (default ${LOAD_DEFAULTS.maxContext})
  --kv-cache-tokens N      KV cache budget over all requests (default ${LOAD_DEFAULTS.kvCacheContexts} × max-context)
  --default-max-tokens N   completion length when a chat request sets none (default: the rest of the context)
  --body-limit BYTES       largest request body; larger ones get 413 (default 4194304)
  --request-timeout S      seconds a client may take to send its request; 408 after (default 60, 0 = none)
  --stream-idle-timeout S  seconds a client may leave the server's output unread before it is
                           disconnected and its work freed (default 60, 0 = none)
  --sse-keep-alive S       an SSE comment when a stream had nothing to send for S seconds, while it waits
                           for a slot or prefills (default 5, 0 = none)
  --responses-store N      responses kept in memory for previous_response_id (default 1000)
  --max-stop-strings N     stop strings per request (default 16)
  --max-stop-length N      characters of the longest stop string (default 256)
  --max-embedding-inputs N inputs per embeddings request (default 2048)
  --max-embedding-tokens N tokens of all inputs of an embeddings request (default 65536)
  --max-grammar-size N     grammar elements a request's JSON schema may compile to (default 1000000)
  --grammar-timeout S      seconds of CPU time compiling a request's JSON schema may take (default 2)
  --drain-timeout S        seconds to wait for requests in flight on shutdown (default 30)

Engine:
  --threads N              threads of the forward pass (default: all CPUs)
  --weights W              bf16 (as stored, default), q8, q4 or fp8 (quantized once at load)
  --kv-cache P             KV cache precision: f32 (default), bf16 or int8
  --max-batch-tokens N     tokens per engine step, decoding and prompt chunks together (default ${LOAD_DEFAULTS.maxBatchTokens})
  --no-prefix-caching      do not reuse the KV cache of identical prompt prefixes across requests
                           (where clients must not learn from each other's timing: SECURITY.md)
  --adapter NAME=DIR       serve a PEFT LoRA adapter (a directory or a hub id) as model NAME: requests
                           naming it generate with it, /v1/models lists it (repeatable; vLLM's --lora-modules)
  --chat-template FILE     a Jinja chat template to use instead of the checkpoint's`;

/** How a flag's text becomes its option's value ("list": the flag may be repeated). */
type Unit = "string" | "number" | "seconds" | "list";

/** Every flag that sets one server option: flag → option and unit. */
const SERVER_FLAGS = {
  host: ["host", "string"],
  port: ["port", "number"],
  "api-key": ["apiKey", "string"],
  "metrics-key": ["metricsKey", "string"],
  "model-name": ["modelName", "string"],
  cors: ["cors", "list"],
  "log-level": ["logLevel", "string"],
  "max-concurrency": ["maxConcurrency", "number"],
  "max-queue": ["maxQueue", "number"],
  "default-max-tokens": ["defaultMaxTokens", "number"],
  "body-limit": ["bodyLimit", "number"],
  "request-timeout": ["requestTimeoutMs", "seconds"],
  "stream-idle-timeout": ["streamIdleTimeoutMs", "seconds"],
  "sse-keep-alive": ["sseKeepAliveMs", "seconds"],
  "responses-store": ["responsesStoreSize", "number"],
  "max-stop-strings": ["maxStopStrings", "number"],
  "max-stop-length": ["maxStopLength", "number"],
  "max-embedding-inputs": ["maxEmbeddingInputs", "number"],
  "max-embedding-tokens": ["maxEmbeddingTokens", "number"],
  "max-grammar-size": ["maxGrammarSize", "number"],
  "grammar-timeout": ["grammarTimeoutMs", "seconds"],
  "drain-timeout": ["drainTimeoutMs", "seconds"],
} as const satisfies Record<string, readonly [keyof ServerOptionsInput, Unit]>;

/** Every flag that sets one engine load option. */
const LOAD_FLAGS = {
  threads: ["threads", "number"],
  "max-context": ["maxContext", "number"],
  "kv-cache-tokens": ["kvCacheTokens", "number"],
  "max-batch-tokens": ["maxBatchTokens", "number"],
  weights: ["weights", "string"],
  "kv-cache": ["kvCache", "string"],
} as const satisfies Record<string, readonly [keyof LoadOptions, Unit]>;

/** Keys that may also come from the environment, so they stay out of `ps` and shell history. */
const FROM_ENV = { "api-key": "WENXIN_API_KEY", "metrics-key": "WENXIN_METRICS_KEY" } as const;

function optionValue(text: string | string[] | undefined, flag: string, unit: Unit): unknown {
  if (unit === "string" || unit === "list" || Array.isArray(text)) return text;
  const n = numberOption(text, flag);
  return unit === "seconds" && n !== undefined ? Math.round(n * 1000) : n;
}

/** The options a flag table sets from parsed flags (and key variables); the receiving schema validates them. */
function optionsFromFlags(
  table: Record<string, readonly [string, Unit]>,
  values: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [flag, [option, unit]] of Object.entries(table)) {
    const env = FROM_ENV[flag as keyof typeof FROM_ENV];
    const text = (values[flag] as string | string[] | undefined) ?? (env ? process.env[env] || undefined : undefined);
    const value = optionValue(text, flag, unit);
    if (value !== undefined) out[option] = value;
  }
  return out;
}

/** The server options the flags (and key variables) set; the server's schema validates them. */
export function serverOptionsFromFlags(values: Record<string, unknown>): ServerOptionsInput {
  return optionsFromFlags(SERVER_FLAGS, values) as ServerOptionsInput;
}

/** The engine's load options the flags set; `Engine.load` validates them. */
export function loadOptionsFromFlags(values: Record<string, unknown>): LoadOptions {
  const out = optionsFromFlags(LOAD_FLAGS, values) as LoadOptions;
  if (values["no-prefix-caching"]) out.prefixCaching = false;
  const template = values["chat-template"];
  if (typeof template === "string") {
    try {
      out.chatTemplate = readFileSync(template, "utf8");
    } catch (err) {
      throw new Error(`--chat-template: cannot read ${template}: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}

/** `--adapter NAME=DIR` flags as name → directory (or hub id); a name given twice is an error. */
export function adaptersFromFlags(values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of (values.adapter as string[] | undefined) ?? []) {
    const eq = spec.indexOf("=");
    const name = spec.slice(0, eq);
    if (eq <= 0 || eq === spec.length - 1) throw new Error(`--adapter takes NAME=DIR, got '${spec}'`);
    if (name in out) throw new Error(`--adapter: the name '${name}' is given twice`);
    out[name] = spec.slice(eq + 1);
  }
  return out;
}

const flagSpec = (table: Record<string, readonly [string, Unit]>) =>
  Object.fromEntries(
    Object.entries(table).map(([flag, [, unit]]) => [flag, { type: "string", multiple: unit === "list" } as const]),
  );

export const serveCommand: Command = {
  summary: "serve a model over an OpenAI-compatible HTTP API",
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        model: { type: "string" },
        "no-prefix-caching": { type: "boolean" },
        adapter: { type: "string", multiple: true },
        "chat-template": { type: "string" },
        ...flagSpec(LOAD_FLAGS),
        ...flagSpec(SERVER_FLAGS),
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
    const source = await resolveModelSource(values.model);
    const flags = serverOptionsFromFlags(values);
    const loadOptions = loadOptionsFromFlags(values);
    const adapters: Record<string, string> = {};
    for (const [name, dir] of Object.entries(adaptersFromFlags(values)))
      adapters[name] = (await resolveModelSource(dir, { files: "adapter" })).path;
    // The server listens while the model loads (/health says so); the progress line follows the load.
    const progress = new ProgressLine(`loading ${values.model}`);
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer({
        model: source.path,
        loadOptions,
        adapters,
        logStream: logDestination(),
        ...flags,
        modelName: flags.modelName ?? source.repoId,
      });
    } catch (err) {
      progress.fail();
      throw err;
    }
    server.model.ready.then(
      () => progress.done(),
      () => progress.fail(),
    );

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
