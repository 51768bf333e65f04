#!/usr/bin/env node
// The `wenxin` command: one verb per file in commands/.
import { readFileSync } from "node:fs";

import { WenxinError } from "@wenxin/engine";

import { generateCommand } from "./commands/generate.js";
import { inspectCommand } from "./commands/inspect.js";
import { runCommand } from "./commands/run.js";
import { serveCommand } from "./commands/serve.js";
import { pullCommand } from "./commands/pull.js";
import { quantizeCommand } from "./commands/quantize.js";
import { convertCommand } from "./commands/convert.js";
import type { Command } from "./commands/command.js";

const COMMANDS: Record<string, Command> = {
  generate: generateCommand,
  run: runCommand,
  serve: serveCommand,
  inspect: inspectCommand,
  pull: pullCommand,
  quantize: quantizeCommand,
  convert: convertCommand,
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: wenxin <command> [options]\n       wenxin --version\n\nCommands:\n${lines.join("\n")}\n\nRun 'wenxin <command> --help' for a command's options.`;
}

/** This package's version, from its package.json (dist/index.js → ../package.json). */
function version(): string {
  return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-v") {
    console.log(`wenxin ${version()} (node ${process.versions.node})`);
    return 0;
  }
  if (!name || name === "--help" || name === "-h") {
    console.log(usage());
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`wenxin: unknown command '${name}'\n\n${usage()}`);
    return 1;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof WenxinError) console.error(`wenxin: ${err.message} (${err.code})`);
    else console.error(`wenxin: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
