/**
 * The command table: name -> summary and a lazy loader, one line per command.
 * @module
 */
import type { Command } from "./command.ts";

export const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  call: {
    summary: "Call an export of a plugin file and print its output",
    load: async () => (await import("./call.ts")).command,
  },
};
