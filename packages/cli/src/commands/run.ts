import { createInterface } from "node:readline";

import { Engine, LOAD_DEFAULTS, type ChatMessage, type GenerationResult } from "@wenxin/engine";
import { withProgress } from "@wenxin/engine/internal";

import { numberOption, parseCommandArgs, type Command } from "./command.js";
import { resolveModelSource } from "./model_source.js";
import { SAMPLING_FLAGS, samplingFromFlags, samplingUsage } from "./sampling_flags.js";

const MAX_NEW_TOKENS = 512;

const USAGE = `Usage: wenxin run DIR|FILE|ID [options]

DIR is a checkpoint directory, FILE a .gguf file, ID a hub id (org/name: pulled into the HF cache).

Chats with the model in the terminal: replies stream as they are generated, and the
conversation is kept as history for the next turn.

In the chat:
  /reset     forget the conversation (the system message stays)
  /exit      quit (also /quit, /bye, Ctrl-D)
  /help      show these commands
  Ctrl-C     stops a reply that is being generated; at the prompt it quits

Options:
  --system TEXT          a system message
${samplingUsage(MAX_NEW_TOKENS)}
  --max-context N        tokens per conversation (default ${LOAD_DEFAULTS.maxContext})
  --threads N            default: all CPUs`;

const COMMANDS_HELP = "/reset forgets the conversation, /exit quits, Ctrl-C stops a reply";

export const runCommand: Command = {
  summary: "chat with a model in the terminal",
  async run(argv) {
    const positional = argv.length > 0 && !argv[0]!.startsWith("-") ? argv[0] : undefined;
    const { values } = parseCommandArgs(
      positional ? argv.slice(1) : argv,
      {
        model: { type: "string" },
        system: { type: "string" },
        ...SAMPLING_FLAGS,
        "max-context": { type: "string" },
        threads: { type: "string" },
      },
      USAGE,
    );
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const dir = positional ?? values.model;
    if (!dir) {
      console.error(`wenxin run: give the model directory\n\n${USAGE}`);
      return 1;
    }
    const sampling = samplingFromFlags(values, MAX_NEW_TOKENS);
    const { path: model } = await resolveModelSource(dir);
    const options = {
      threads: numberOption(values.threads, "threads"),
      maxContext: numberOption(values["max-context"], "max-context"),
    };
    const engine = await withProgress(`loading ${dir}`, () => Engine.load(model, options));
    try {
      return await chatLoop(engine, values.system, sampling);
    } finally {
      await engine.close();
    }
  },
};

async function chatLoop(
  engine: Engine,
  system: string | undefined,
  sampling: Record<string, number | undefined>,
): Promise<number> {
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive });
  const initial: ChatMessage[] = system ? [{ role: "system", content: system }] : [];
  let history = [...initial];
  let current: AbortController | undefined;

  // Ctrl-C: stop the reply in progress, or quit at the prompt.
  rl.on("SIGINT", () => {
    if (current) current.abort();
    else rl.close();
  });
  if (interactive) console.error(`Chatting with ${engine.dir}. ${COMMANDS_HELP}.`);
  const prompt = () => interactive && rl.prompt();
  rl.setPrompt(">>> ");
  prompt();

  for await (const raw of rl) {
    const line = raw.trim();
    if (line === "") {
      prompt();
      continue;
    }
    if (line.startsWith("/")) {
      const command = line.split(/\s+/)[0];
      if (["/exit", "/quit", "/bye"].includes(command!)) break;
      if (command === "/reset") {
        history = [...initial];
        console.error("(conversation cleared)");
      } else if (command === "/help") console.error(COMMANDS_HELP);
      else console.error(`unknown command ${command}; ${COMMANDS_HELP}`);
      prompt();
      continue;
    }
    const turn: ChatMessage[] = [...history, { role: "user", content: line }];
    current = new AbortController();
    try {
      const result = await streamReply(engine, turn, sampling, current.signal);
      history = [...turn, { role: "assistant", content: result.text }];
      if (result.finishReason === "length") console.error(`(reply cut at ${result.completionTokens} tokens)`);
    } catch (err) {
      process.stdout.write("\n");
      if ((err as { code?: string }).code === "ERR_WENXIN_ABORTED") console.error("(stopped; this turn is not kept)");
      else console.error(`error: ${(err as Error).message}`); // the conversation goes on without this turn
    } finally {
      current = undefined;
    }
    prompt();
  }
  rl.close();
  return 0;
}

async function streamReply(
  engine: Engine,
  messages: ChatMessage[],
  sampling: Record<string, number | undefined>,
  signal: AbortSignal,
): Promise<GenerationResult> {
  for await (const ev of engine.generate({ messages, ...sampling, signal })) {
    if (ev.type === "token") process.stdout.write(ev.text);
    else {
      process.stdout.write("\n");
      return ev;
    }
  }
  throw new Error("generation ended without a result");
}
