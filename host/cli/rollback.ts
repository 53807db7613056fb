/**
 * `host rollback ID`: back to the previously installed version of a plugin.
 * @module
 */
import { ExitCode, UsageError } from "../errors.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { describeChanges, hostFlags, openForChanges } from "./registry-flags.ts";

const usage = `Usage: host rollback <id> [options]

Reinstalls the version of <id> installed before the current one, from the module
kept by digest under <data dir>/plugins (verified again; its dependencies and
dependents must still fit). The lockfile is rewritten. Running it again goes back
to the version just replaced.

Options:
  --home DIR, --db URL, --trust PATH, --policy FILE, --allow-unsigned   as for install
  --json   Print the change as JSON

Exit codes: 0 rolled back; 1 no earlier version, or it no longer verifies or fits; 64 usage.
`;

export const command: Command = {
  name: "rollback",
  summary: "Reinstall the previous version of a plugin (kept by digest)",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, { ...commonOptions, ...hostFlags }, 1);
    const id = positionals[0];
    if (id === undefined) throw new UsageError("Missing <id>");
    const host = await openForChanges(values, io);
    try {
      const change = await host.rollback(id);
      io.stdout(values.json ? JSON.stringify(change) + "\n" : describeChanges([change]));
    } finally {
      await host.close();
    }
    return ExitCode.ok;
  },
};
