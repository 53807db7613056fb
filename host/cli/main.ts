/**
 * The `host` command: global flags, the command table and error reporting.
 * Commands load lazily so `host --version` stays fast.
 * @module
 */
import { ExitCode, exitCodeOf, HostError, UsageError } from "../errors.ts";
import { VERSION } from "../version.ts";
import type { CliIo, Command } from "./command.ts";
import { commands } from "./commands.ts";
import { unknownCommand } from "./spec.ts";

/** Top-level usage text. */
export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, c]) =>
    `  ${name.padEnd(width)}  ${c.summary}`
  );
  return [
    `host ${VERSION}: a WebAssembly plugin host`,
    "",
    "Usage: host <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Options:",
    "  -h, --help     Show help (also: host <command> --help)",
    "  -V, --version  Print the version",
    "",
    "Exit codes: 0 ok, 1 failed, 2 warnings with --strict, 64 usage, 65 bad input data,",
    "91 storage, 92 runtime, 93 network. See docs/cli.md.",
  ].join("\n") + "\n";
}

/** Runs the CLI with `args` (without the program name) and returns the exit code. */
export async function main(args: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    const target = first === "help" ? rest[0] : undefined;
    if (target !== undefined && commands[target]) return await main([target, "--help"], io);
    (first === undefined ? io.stderr : io.stdout)(usage());
    return first === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (first === "-V" || first === "--version") {
    io.stdout(`${VERSION}\n`);
    return ExitCode.ok;
  }
  const entry = commands[first];
  if (!entry) {
    io.stderr(`host: ${await unknownCommand(commands, first)}\n`);
    return ExitCode.usage;
  }
  const command = await entry.load();
  if ((rest.includes("--help") || rest.includes("-h")) && !command.ownHelp) {
    io.stdout(command.usage);
    return ExitCode.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    return report(error, command, io);
  }
}

function report(error: unknown, command: Command, io: CliIo): number {
  if (error instanceof UsageError) {
    io.stderr(`host ${command.name}: ${error.message}\n${hintLine(command, error.message)}`);
  } else if (error instanceof HostError) {
    io.stderr(`host ${command.name}: ${error.message}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`host ${command.name}: internal error: ${message}\n`);
  }
  return exitCodeOf(error);
}

/** After a usage error: where the full usage is (not the whole text: the error stays visible). */
function hintLine(command: Command, message: string): string {
  return message.includes("--help") ? "" : `Run 'host ${command.name} --help' for its usage.\n`;
}
