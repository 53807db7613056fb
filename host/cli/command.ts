/**
 * What every `host` subcommand looks like, and the flag parser they share.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.ts";
import { closest, either } from "./suggest.ts";

/** Where a command writes. Tests pass buffers; bin.ts passes the process streams. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Environment variables (PLUGHOST_*), so commands never read process.env directly. */
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** The command prints its own --help (generated help, like `host run P C --help`). */
  ownHelp?: boolean;
  run(args: string[], io: CliIo): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Flags every command accepts. */
export const commonOptions = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;

/** Parses flags strictly; unknown flags or missing values become a UsageError (exit 64). */
export function parseFlags<const O extends Options>(
  args: string[],
  options: O,
  maxPositionals = Infinity,
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(flagError(error, options));
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`Unexpected argument '${parsed.positionals[maxPositionals]}'`);
  }
  return parsed;
}

/** Parses a flag that must be a positive integer. */
export function intFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--${name} takes a positive integer, got '${value}'`);
  }
  return Number(value);
}

/** parseArgs' error as one line; an unknown flag names the nearest real ones. */
function flagError(error: unknown, options: Options): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = (error as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
    ? /'(-{1,2}[^'=]+)/.exec(message)?.[1]
    : undefined;
  if (unknown === undefined) return message.replace(/\.$/, "");
  const names = Object.keys(options).map((n) => `--${n}`);
  const near = closest(unknown.startsWith("--") ? unknown : `-${unknown}`, names).slice(0, 3);
  return `unknown option '${unknown}'${
    near.length > 0 ? `; did you mean ${either(near)}?` : ""
  } (see --help)`;
}

/** The command table's shape (host/cli/commands.ts), for modules handed the table. */
export type CommandTable = Record<string, { summary: string; load: () => Promise<Command> }>;
