/**
 * `host plugins`: list installed plugins, enable, disable or uninstall one,
 * move or forget an id's signer pin, or resume one a running server suspended.
 * @module
 */
import { resolvePaths } from "../config/paths.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import { openStore, type Store } from "../store/mod.ts";
import { KeyIdSchema } from "../trust/mod.ts";
import type { CliIo } from "./command.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { listPlugins } from "./plugins-list.ts";
import { resumeOnServer } from "./plugins-resume.ts";
import { servedPlugins } from "./served.ts";

const usage = `Usage: host plugins [list] [--json]
       host plugins enable|disable|remove <plugin-id>
       host plugins rekey <plugin-id> --key KEYID [--key KEYID...]
       host plugins unpin <plugin-id>
       host plugins resume <plugin-id> [--server URL] [--token TOKEN]

Lists the plugins installed in the data directory (with 'host install' or
POST /v1/plugins) and those a running server loaded from --plugins (SOURCE
"served"), or changes an installed one. A running host applies enable/disable and
removal on its next start; use the HTTP API to change a running host.

rekey: a plugin id is pinned to the key(s) that first installed it, and a
version signed by another key is refused, also after the plugin was
uninstalled (remove or 'host uninstall' keep the pin). When a plugin really
changes hands, pin it to the new key(s) here (recorded as a plugin.rekeyed
event); the next install or upload signed by them is then accepted, also by a
running host.

unpin: forgets the pin of an uninstalled id (recorded as a plugin.unpinned
event), so the next install pins it to whichever trusted key signed it.
Refused while the id is installed.

resume: a plugin whose circuit breaker opened is suspended on the server that
runs it (docs/lifecycle.md); resume closes its breaker there (POST
/v1/plugins/ID/resume), or retries the onLoad hook of a plugin in state error.
The server is --server, else the one running over this database.

Options:
  --key KEYID  rekey: the key id(s) (16 hex digits) to pin the plugin to
  --server URL resume: the server's URL (default: the server running over the database)
  --token T    resume: an admin API token (also PLUGHOST_TOKEN), if the server needs one
  --home DIR   Data directory (default: $PLUGHOST_HOME or ./.plughost)
  --db URL     Database (default: $PLUGHOST_DB or <data dir>/host.db)
  --json       Print one JSON document: {"plugins":[...],"server":{url,startedAt}|null}

Exit codes: 0 ok; 1 no such plugin (or pin), not suspended, or unpin of an installed id;
64 usage; 91 storage; 93 server unreachable.
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
      key: { type: "string", multiple: true },
      server: { type: "string" },
      token: { type: "string" },
    }, 2);
    const [action = "list", id] = positionals;
    if (!["list", "enable", "disable", "remove", "rekey", "unpin", "resume"].includes(action)) {
      throw new UsageError(
        `Unknown action '${action}': use list, enable, disable, remove, rekey, unpin or resume`,
      );
    }
    if (action !== "resume" && (values.server !== undefined || values.token !== undefined)) {
      throw new UsageError("--server and --token are only for resume");
    }
    if (action !== "list" && id === undefined) {
      throw new UsageError(`Missing <plugin-id> for ${action}`);
    }
    const keys = values.key ?? [];
    if (action === "rekey") {
      if (keys.length === 0) {
        throw new UsageError("rekey needs --key KEYID (the new signer's key id)");
      }
      const bad = keys.find((k) => !KeyIdSchema.safeParse(k).success);
      if (bad !== undefined) {
        throw new UsageError(
          `--key ${bad}: a key id is 16 lower-case hex digits (see 'host verify')`,
        );
      }
    } else if (keys.length > 0) throw new UsageError("--key is only for rekey");
    const paths = resolvePaths(io.env, io.cwd, { home: values.home, db: values.db });
    const store = await openStore({ url: paths.db, authToken: io.env.PLUGHOST_DB_TOKEN });
    try {
      if (action === "list") return await listPlugins(store, values.json ?? false, io);
      const pluginId = id as string;
      if (action === "rekey") return await rekey(store, pluginId, keys, values.json ?? false, io);
      if (action === "unpin") return await unpin(store, pluginId, values.json ?? false, io);
      if (action === "resume") {
        const server = values.server ?? (await servedPlugins(store))?.url;
        if (server === undefined) {
          throw new UsageError(
            "No server is running over this database: a plugin is suspended only on a running server; pass its URL with --server",
          );
        }
        const token = values.token ?? io.env.PLUGHOST_TOKEN;
        const result = await resumeOnServer(server, pluginId, token);
        if (values.json) io.stdout(JSON.stringify({ id: pluginId, action, ...result }) + "\n");
        else io.stdout(`resumed ${pluginId} on ${server}: now ${result.state}\n`);
        return ExitCode.ok;
      }
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

/** Pins `pluginId` (installed, or uninstalled with its pin kept) to `keys`, recorded as `plugin.rekeyed`. */
async function rekey(
  store: Store,
  pluginId: string,
  keys: string[],
  json: boolean,
  io: CliIo,
): Promise<number> {
  const from = await store.plugins.pin(pluginId);
  if (from === undefined) {
    throw new HostError(
      "not_found",
      `No plugin '${pluginId}' is installed or pinned: list them with 'host plugins'; ` +
        "an id never installed is pinned by its first install",
    );
  }
  await store.plugins.setPinnedKeys(pluginId, keys);
  await store.events.append({
    type: "plugin.rekeyed",
    level: "warn",
    source: "host",
    pluginId,
    payload: { from, to: keys, via: "cli" },
  });
  if (json) io.stdout(JSON.stringify({ id: pluginId, action: "rekey", from, to: keys }) + "\n");
  else io.stdout(`pinned ${pluginId} to ${keys.join(", ")} (was ${from.join(", ") || "none"})\n`);
  return ExitCode.ok;
}

/** Forgets the pin of an uninstalled `pluginId`, recorded as `plugin.unpinned`. */
async function unpin(store: Store, pluginId: string, json: boolean, io: CliIo): Promise<number> {
  if (await store.plugins.get(pluginId)) {
    throw new HostError(
      "conflict",
      `Plugin '${pluginId}' is installed: its pin stays while it is. Move the pin with ` +
        `'host plugins rekey ${pluginId} --key KEYID', or uninstall it first ('host uninstall ${pluginId}')`,
    );
  }
  const from = await store.plugins.pin(pluginId);
  if (from === undefined || !(await store.plugins.forgetPin(pluginId))) {
    throw new HostError(
      "not_found",
      `No pin is kept for '${pluginId}': it was never installed here, or its pin was already forgotten`,
    );
  }
  await store.events.append({
    type: "plugin.unpinned",
    level: "warn",
    source: "host",
    pluginId,
    payload: { from, via: "cli" },
  });
  if (json) io.stdout(JSON.stringify({ id: pluginId, action: "unpin", from }) + "\n");
  else io.stdout(`forgot the pin of ${pluginId} (was ${from.join(", ") || "none"})\n`);
  return ExitCode.ok;
}
