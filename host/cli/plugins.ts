/**
 * `host plugins`: list installed plugins, enable, disable or uninstall one.
 * @module
 */
import { resolvePaths } from "../config/paths.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import { openStore } from "../store/mod.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";

const usage = `Usage: host plugins [list] [--json]
       host plugins enable|disable|remove <plugin-id>

Lists the plugins installed in the data directory (with 'host install' or
POST /v1/plugins), or changes one. A running host applies enable/disable and
removal on its next start; use the HTTP API to change a running host.

Options:
  --home DIR   Data directory (default: $PLUGHOST_HOME or ./.plughost)
  --db URL     Database (default: $PLUGHOST_DB or <data dir>/host.db)
  --json       Print JSON

Exit codes: 0 ok; 1 no such plugin; 64 usage; 91 storage.
`;

export const command: Command = {
  name: "plugins",
  summary: "List installed plugins; enable, disable or remove one",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      home: { type: "string" },
      db: { type: "string" },
    }, 2);
    const [action = "list", id] = positionals;
    if (!["list", "enable", "disable", "remove"].includes(action)) {
      throw new UsageError(`Unknown action '${action}': use list, enable, disable or remove`);
    }
    if (action !== "list" && id === undefined) {
      throw new UsageError(`Missing <plugin-id> for ${action}`);
    }
    const paths = resolvePaths(io.env, io.cwd, { home: values.home, db: values.db });
    const store = await openStore({ url: paths.db, authToken: io.env.PLUGHOST_DB_TOKEN });
    try {
      if (action === "list") {
        const plugins = await store.plugins.list();
        if (values.json) io.stdout(JSON.stringify(plugins, null, 2) + "\n");
        else if (plugins.length === 0) {
          io.stdout("No plugins installed (install one with 'host install FILE.wasm')\n");
        } else {
          for (const p of plugins) {
            io.stdout(
              `${p.id}  ${p.version}  ${p.state}  sha256:${
                p.digest.slice(0, 12)
              }…  ${p.installedAt}\n`,
            );
          }
        }
        return ExitCode.ok;
      }
      const pluginId = id as string;
      const changed = action === "remove"
        ? await store.plugins.remove(pluginId)
        : await store.plugins.setState(pluginId, action === "enable" ? "enabled" : "disabled");
      if (!changed) {
        throw new HostError(
          "not_found",
          `No plugin '${pluginId}' is installed: list them with 'host plugins'`,
        );
      }
      void store.events.append({
        type: action === "remove" ? "plugin.uninstalled" : `plugin.${action}d`,
        pluginId,
        payload: { via: "cli" },
      });
      if (values.json) io.stdout(JSON.stringify({ id: pluginId, action }) + "\n");
      else io.stdout(`${action === "remove" ? "removed" : `${action}d`} ${pluginId}\n`);
      return ExitCode.ok;
    } finally {
      await store.close();
    }
  },
};
