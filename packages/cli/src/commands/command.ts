import { parseArgs, type ParseArgsConfig } from "node:util";

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;
const HELP = { help: { type: "boolean", short: "h" } } as const;
/** What parseCommandArgs returns (named, so that declarations of the command modules can be emitted). */
export type ParsedCommandArgs<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O & typeof HELP; strict: true; allowPositionals: false }>
>;

/** Parses a command's options; unknown flags are errors, `--help` prints the usage. */
export function parseCommandArgs<O extends Options>(argv: string[], options: O, usage: string): ParsedCommandArgs<O> {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, ...HELP },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n\n${usage}`, { cause: err });
  }
}

export function numberOption(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${String(value)}'`);
  return n;
}
