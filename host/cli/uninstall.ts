/**
 * `host uninstall ID`: remove an installed plugin, refused while others need it.
 * @module
 */
import { ExitCode, UsageError } from "../errors.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { hostFlags, openForChanges } from "./registry-flags.ts";

const usage = `Usage: host uninstall <id> [--force]

Removes an installed plugin's record (its module stays under <data dir>/plugins, by
digest, so 'host rollback' and lockfiles can use it again) and rewrites the lockfile.
Refused while another installed plugin requires it, naming them; --force removes it
anyway (they are then not activated at the next start, and say why).

Options:
  --force   Uninstall although other plugins depend on it
  --home DIR, --db URL, --trust PATH   as for install

Exit codes: 0 uninstalled; 1 not installed, or others depend on it; 64 usage; 91 storage.
`;

export const command: Command = {
  name: "uninstall",
  summary: "Uninstall a plugin (refused while others depend on it unless --force)",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(
      args,
      { ...commonOptions, ...hostFlags, force: { type: "boolean" } },
      1,
    );
    const id = positionals[0];
    if (id === undefined) throw new UsageError("Missing <id>");
    const host = await openForChanges(values, io);
    try {
      await host.uninstall(id, { force: values.force ?? false });
    } finally {
      await host.close();
    }
    io.stdout(values.json ? JSON.stringify({ uninstalled: id }) + "\n" : `uninstalled ${id}\n`);
    return ExitCode.ok;
  },
};
