/**
 * What each command accepts, read from its usage text (the one documented
 * source): its subcommands and its flags. Used by did-you-mean and by shell
 * completion, so neither keeps a second list that could drift.
 * @module
 */
import type { Command, CommandTable } from "./command.ts";
import { closest, either } from "./suggest.ts";

/** A command's subcommands and long flags, as its usage text lists them. */
export interface CommandSpec {
  name: string;
  summary: string;
  subcommands: string[];
  flags: string[];
}

/** Reads the subcommands and flags of `command` from its usage text. */
export function specOf(command: Command): CommandSpec {
  const subcommands = new Set<string>();
  const optional: string[] = [];
  const after = new RegExp(`host ${command.name} (\\S+)`, "g");
  for (const [, token] of command.usage.matchAll(after)) {
    const words = token!.replace(/^[[<]|[\]>.]+$/g, "").split("|")
      .filter((w) => /^[a-z][a-z-]*$/.test(w) && w !== "options");
    // `<file.wasm>` names an argument; `<a|b>` and bare words are subcommands; `[list]` is an
    // optional subcommand only where the command has others (`[dir]` alone is an argument).
    if (token!.startsWith("<") && words.length < 2) continue;
    if (token!.startsWith("[") && words.length === 1) optional.push(words[0]!);
    else for (const word of words) subcommands.add(word);
  }
  const all = subcommands.size > 0 ? [...optional, ...subcommands] : [];
  const flags = new Set<string>(["--help", "--json"]);
  // Flags of option lines (`  --db URL`, `  -f, --follow`) and synopsis lines (`host x --y`);
  // prose that mentions another command's flag is neither.
  for (const line of command.usage.split("\n")) {
    if (!/^\s+-/.test(line) && !line.includes(`host ${command.name}`)) continue;
    for (const [flag] of line.matchAll(/--[a-z][a-z0-9-]*/g)) flags.add(flag);
  }
  return {
    name: command.name,
    summary: command.summary,
    subcommands: [...new Set(all)],
    flags: [...flags].sort(),
  };
}

/** Every command's spec, in the command table's order (loads every command). */
export async function allSpecs(commands: CommandTable): Promise<CommandSpec[]> {
  return await Promise.all(
    Object.values(commands).map(async (entry) => specOf(await entry.load())),
  );
}

/**
 * The message for an unknown command: the nearest real commands, or, for a
 * word that is some command's subcommand (`host list`), the full command.
 */
export async function unknownCommand(commands: CommandTable, word: string): Promise<string> {
  const specs = await allSpecs(commands);
  const asSubcommand = specs
    .filter((s) => s.subcommands.includes(word))
    .map((s) => `${s.name} ${word}`);
  const suggestions = asSubcommand.length > 0
    ? asSubcommand.sort()
    : closest(word, specs.map((s) => s.name)).slice(0, 3);
  const hint = suggestions.length > 0
    ? `; did you mean ${either(suggestions)}?`
    : "; run 'host --help' for the list of commands";
  return `unknown command '${word}'${hint}`;
}
