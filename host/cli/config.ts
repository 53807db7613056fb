/**
 * `host config get|set|unset|history PLUGIN`: the values operators set for
 * an installed plugin, stored versioned in the host database (docs/config.md).
 * Every change is checked against the plugin's config schema first (exit 65
 * naming the field by JSON Pointer); running hosts on the same database apply
 * it from their next run of the plugin.
 * @module
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { z } from "zod";
import { resolvePaths } from "../config/paths.ts";
import { PluginConfigs } from "../core/mod.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import type { Manifest } from "../manifest/mod.ts";
import {
  type ConfigValues,
  getPath,
  keyPath,
  mergeConfig,
  parseValue,
  schemaAt,
  setPath,
  unsetPath,
} from "../plugin-config/mod.ts";
import { installedManifest } from "../scheduler/mod.ts";
import { openExistingStore, openStore, type Store } from "../store/mod.ts";
import { type CliIo, type Command, commonOptions, parseFlags } from "./command.ts";

const usage = `Usage: host config <get|set|unset|history> PLUGIN [KEY[=VALUE]...] [options]

The values operators set for an installed plugin (docs/config.md). A plugin's
effective config is its manifest's config.default, then the stored base, then
the stored overlay of the host's environment (host serve --env), then
PLUGHOST_CONFIG__<PLUGIN>__<KEY> variables. Running hosts on the same database
see a change at their next run of the plugin, without a restart.

  host config get PLUGIN [KEY]         The effective config (or one dotted KEY)
  host config set PLUGIN KEY=VALUE...  Set values; VALUE is JSON when it parses
                                       (8080, true, ["a"]), else a string; a field
                                       the schema types "string" always takes the text
  host config set PLUGIN --file F      Merge a JSON object from F (--replace: replace all)
  host config unset PLUGIN KEY...      Remove stored keys (the default shows again)
  host config history PLUGIN           Every stored version of the base (or of --env's
                                       overlay), newest first

KEY is dotted for nested fields: smtp.port=2525. Fields the schema marks
"writeOnly": true are secret: shown as "[redacted]" everywhere but in the plugin.

Options:
  --env NAME    The environment overlay to read or change (default: $PLUGHOST_ENV;
                none: the base)
  --file F      JSON object to merge (set)
  --replace     With --file: replace the stored values instead of merging
  --db URL      Database (default: $PLUGHOST_DB or $PLUGHOST_HOME/host.db)
  --home DIR    Data directory (default: $PLUGHOST_HOME or ./.plughost)
  --plugins DIR Installed plugin modules (default: <home>/plugins)
  --json        Machine-readable output

Exit codes: 0 ok; 1 no such plugin or key; 64 usage; 65 a value off the
plugin's config schema (nothing stored); 91 storage.
`;

const actions = ["get", "set", "unset", "history"] as const;
/** What `--file` holds: one JSON object (checked against the plugin's schema afterwards). */
const ConfigFile = z.record(z.string(), z.unknown());
type Action = (typeof actions)[number];

export const command: Command = {
  name: "config",
  summary: "Show or change a plugin's config (get, set KEY=VALUE, unset, history)",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      env: { type: "string" },
      file: { type: "string" },
      replace: { type: "boolean" },
      db: { type: "string" },
      home: { type: "string" },
      plugins: { type: "string" },
    });
    const [action, pluginId, ...rest] = positionals;
    if (action === undefined) throw new UsageError("Missing action: get, set, unset or history");
    if (!(actions as readonly string[]).includes(action)) {
      throw new UsageError(`Unknown action '${action}': use get, set, unset or history`);
    }
    if (pluginId === undefined) {
      throw new UsageError(`Missing the PLUGIN id: host config ${action} PLUGIN`);
    }
    if (values.file !== undefined && action !== "set") {
      throw new UsageError("--file goes with set");
    }
    if (values.replace && values.file === undefined) throw new UsageError("--replace needs --file");
    const env = values.env ?? (io.env.PLUGHOST_ENV || undefined);
    const paths = resolvePaths(io.env, io.cwd, {
      home: values.home,
      db: values.db,
      plugins: values.plugins,
    });
    const store = action === "get" || action === "history"
      ? await openExistingStore({ url: paths.db })
      : await openStore({ url: paths.db });
    if (store === undefined) {
      throw new HostError("not_found", `No database at ${paths.db}: install the plugin first`);
    }
    try {
      const manifest = await manifestOf(store, paths.plugins, pluginId);
      const configs = new PluginConfigs(store, { env, variables: io.env });
      const json = values.json ?? false;
      return await run(action as Action, { configs, manifest, env, rest, json, io, values });
    } finally {
      await store.close();
    }
  },
};

interface Context {
  configs: PluginConfigs;
  manifest: Manifest;
  env: string | undefined;
  rest: string[];
  json: boolean;
  io: CliIo;
  values: { file?: string | undefined; replace?: boolean | undefined };
}

async function run(action: Action, ctx: Context): Promise<number> {
  const { configs, manifest, env, rest, json, io } = ctx;
  if (action === "get") {
    if (rest.length > 1) throw new UsageError(`Unexpected argument '${rest[1]}'`);
    const view = await configs.view(manifest, env);
    if (rest[0] !== undefined) {
      const value = getPath(view.effective, keyPath(rest[0]));
      if (value === undefined) {
        throw new HostError("not_found", `The config of '${manifest.id}' has no key '${rest[0]}'`);
      }
      io.stdout(JSON.stringify(json ? { key: rest[0], value } : value, null, json ? 0 : 2) + "\n");
      return ExitCode.ok;
    }
    io.stdout(json ? JSON.stringify(view) + "\n" : describeView(view));
    return ExitCode.ok;
  }
  if (action === "history") {
    if (rest.length > 0) throw new UsageError(`Unexpected argument '${rest[0]}'`);
    const versions = await configs.history(manifest, env ?? "");
    if (json) io.stdout(JSON.stringify({ versions }) + "\n");
    else if (versions.length === 0) {
      io.stdout(`No stored config for ${manifest.id}${env ? ` (env ${env})` : ""}\n`);
    } else {
      for (const v of versions) {
        io.stdout(
          `v${v.version}  ${v.changedAt}  ${v.changedBy}  ${JSON.stringify(v.values)}\n`,
        );
      }
    }
    return ExitCode.ok;
  }
  const edit = action === "set" ? await setEdit(ctx) : unsetEdit(ctx);
  const changed = await configs.change(manifest, { env, by: "cli", edit });
  if (json) io.stdout(JSON.stringify(changed) + "\n");
  else {
    io.stdout(
      `${manifest.id}${env ? ` (env ${env})` : ""}: version ${changed.version}${
        changed.changed.length > 0 ? ` (${changed.changed.join(", ")})` : " (no change)"
      }\n`,
    );
  }
  return ExitCode.ok;
}

async function setEdit(ctx: Context): Promise<(current: ConfigValues) => ConfigValues> {
  const schema = ctx.manifest.config?.schema;
  let file: ConfigValues | undefined;
  if (ctx.values.file !== undefined) {
    const path = resolve(ctx.io.cwd, ctx.values.file);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, "utf8"));
    } catch (error) {
      throw new HostError(
        "invalid_input",
        `Cannot read a JSON object from ${path}: ${error instanceof Error ? error.message : error}`,
      );
    }
    const checked = ConfigFile.safeParse(parsed);
    if (!checked.success) {
      throw new HostError(
        "invalid_input",
        `${path} must hold a JSON object, like {"smtp": {"port": 2525}}`,
      );
    }
    file = checked.data;
  }
  const pairs = ctx.rest.map((arg) => {
    const at = arg.indexOf("=");
    if (at <= 0) throw new UsageError(`'${arg}' is not KEY=VALUE (e.g. smtp.port=2525)`);
    const path = keyPath(arg.slice(0, at));
    return { path, value: parseValue(arg.slice(at + 1), schemaAt(schema, path)) };
  });
  if (file === undefined && pairs.length === 0) {
    throw new UsageError("Give KEY=VALUE pairs or --file F");
  }
  return (current) => {
    let next = file === undefined
      ? current
      : ctx.values.replace
      ? file
      : mergeConfig(current, file);
    for (const { path, value } of pairs) next = setPath(next, path, value);
    return next;
  };
}

function unsetEdit(ctx: Context): (current: ConfigValues) => ConfigValues {
  if (ctx.rest.length === 0) throw new UsageError("Give the KEYs to unset");
  const paths = ctx.rest.map(keyPath);
  return (current) => {
    let next = current;
    for (const [i, path] of paths.entries()) {
      const result = unsetPath(next, path);
      if (!result.removed) {
        throw new HostError(
          "not_found",
          `The stored config of '${ctx.manifest.id}'${
            ctx.env ? ` (env ${ctx.env})` : ""
          } has no key '${ctx.rest[i]}' (see host config get)`,
        );
      }
      next = result.values;
    }
    return next;
  };
}

function describeView(view: Awaited<ReturnType<PluginConfigs["view"]>>): string {
  const lines = [JSON.stringify(view.effective, null, 2)];
  const from = [
    "manifest default",
    view.base ? `base v${view.base.version}` : undefined,
    view.overlay ? `env ${view.env} v${view.overlay.version}` : undefined,
    ...view.variables,
  ].filter((s) => s !== undefined);
  lines.push(`(${view.pluginId}: ${from.join(" <- ")})`);
  return lines.join("\n") + "\n";
}

async function manifestOf(store: Store, pluginsDir: string, id: string): Promise<Manifest> {
  try {
    return await installedManifest(store, pluginsDir, id);
  } catch (error) {
    if (
      error instanceof HostError && error.code === "not_found" && !(await store.plugins.get(id))
    ) {
      throw new HostError(
        "not_found",
        `No plugin '${id}' is installed in ${store.url}: install it first (host install FILE), or use PUT /v1/plugins/${id}/config on the host that loads it`,
      );
    }
    throw error;
  }
}
