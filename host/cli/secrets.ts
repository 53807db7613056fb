/**
 * `host secrets set|unset|list`: plugin secrets in the database, encrypted
 * with `$PLUGHOST_SECRETS_KEY` (host/capabilities/secret-vault.ts). A value is
 * read from stdin or `--value-file`, never from an argument (which shells and
 * process lists keep), and never printed.
 * @module
 */
import { mkdir } from "node:fs/promises";
import { z } from "zod";
import { importSecretsKey, SECRETS_KEY_ENV, storeSecret } from "../capabilities/mod.ts";
import { resolvePaths } from "../config/paths.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import { openStore, type Store } from "../store/mod.ts";
import { type CliIo, type Command, commonOptions, parseFlags } from "./command.ts";
import { readFileArg } from "./files.ts";

const usage = `Usage: host secrets <set|unset|list> [PLUGIN] [NAME] [options]

Secrets a plugin reads with secret_get (or has injected into its HTTP requests),
kept in the database encrypted with AES-256-GCM under $${SECRETS_KEY_ENV} (base64 of
32 bytes: openssl rand -base64 32). Every host sharing the database sees a change
within seconds, without a restart (docs/security.md#secrets). Values are never
printed; each change is a secret.changed event without the value.

  host secrets set PLUGIN NAME [--value-file PATH]
      The value is read from stdin (or PATH; '-' is stdin); one trailing newline
      is dropped. Each set is a new version.
  host secrets unset PLUGIN NAME
  host secrets list [PLUGIN]
      Names, versions and when they were set; never values.

Options:
  --value-file PATH  Read the value from PATH instead of stdin
  --db URL           Database (default: $PLUGHOST_DB or $PLUGHOST_HOME/host.db)
  --home DIR         Data directory (default: $PLUGHOST_HOME or ./.plughost)
  --json             Machine-readable output

Exit codes: 0 ok; 1 no such secret (unset); 64 usage or ${SECRETS_KEY_ENV} not set;
65 bad plugin id, name, value or key; 91 storage.
`;

const PluginId = z.string().max(128).regex(
  /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/,
  "must be a plugin id like 'example.db'",
);
const SecretName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a name like 'API_TOKEN'");

function checked(schema: z.ZodType<string>, what: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`Missing ${what}`);
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new HostError(
      "invalid_input",
      `The ${what} '${value}' ${parsed.error.issues[0]!.message}`,
    );
  }
  return parsed.data;
}

export const command: Command = {
  name: "secrets",
  summary: "Set, unset or list plugin secrets in the database (encrypted; values never shown)",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      "value-file": { type: "string" },
      db: { type: "string" },
      home: { type: "string" },
    }, 3);
    const [action, plugin, name] = positionals;
    if (action === undefined) throw new UsageError("Missing action: set, unset or list");
    if (!["set", "unset", "list"].includes(action)) {
      throw new UsageError(`Unknown action '${action}': use set, unset or list`);
    }
    if (action === "list" && name !== undefined) {
      throw new UsageError(`Unexpected argument '${name}': list takes at most a plugin id`);
    }
    if (action !== "set" && values["value-file"] !== undefined) {
      throw new UsageError("--value-file is for set only");
    }
    const pluginId = action === "list" && plugin === undefined
      ? undefined
      : checked(PluginId, "plugin id", plugin);
    const secretName = action === "list" ? undefined : checked(SecretName, "secret name", name);
    // The key and the value are checked before the database is opened.
    const key = action === "set" ? await importSecretsKey(io.env[SECRETS_KEY_ENV]) : undefined;
    const value = action === "set" ? await readValue(values["value-file"] ?? "-", io) : undefined;
    const paths = resolvePaths(io.env, io.cwd, { home: values.home, db: values.db });
    await mkdir(paths.home, { recursive: true });
    const store = await openStore({ url: paths.db });
    const json = values.json ?? false;
    try {
      if (action === "list") return await list(store, pluginId, json, io);
      if (action === "set") {
        const version = await storeSecret(store.secrets, key!, pluginId!, secretName!, value!);
        await changed(store, pluginId!, secretName!, "set", version);
        io.stdout(
          json
            ? JSON.stringify({ pluginId, name: secretName, version }) + "\n"
            : `set ${pluginId} ${secretName} (version ${version})\n`,
        );
        return ExitCode.ok;
      }
      if (!(await store.secrets.remove(pluginId!, secretName!))) {
        throw new HostError(
          "not_found",
          `No secret '${secretName}' of '${pluginId}' in the database: see \`host secrets list ${pluginId}\``,
        );
      }
      await changed(store, pluginId!, secretName!, "unset", null);
      io.stdout(
        json
          ? JSON.stringify({ pluginId, name: secretName, unset: true }) + "\n"
          : `unset ${pluginId} ${secretName}\n`,
      );
      return ExitCode.ok;
    } finally {
      await store.close();
    }
  },
};

async function readValue(path: string, io: CliIo): Promise<string> {
  const bytes = await readFileArg(path, io.cwd);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HostError("invalid_input", "The secret value must be UTF-8 text");
  }
  const value = text.replace(/\r?\n$/, "");
  if (value.length === 0) {
    throw new HostError(
      "invalid_input",
      `The secret value is empty (${path === "-" ? "stdin" : path}); to remove a secret use unset`,
    );
  }
  return value;
}

/** A `secret.changed` event: who changed which name, never the value. */
async function changed(
  store: Store,
  pluginId: string,
  name: string,
  action: "set" | "unset",
  version: number | null,
): Promise<void> {
  await store.events.append({
    type: "secret.changed",
    level: "info",
    source: "host",
    pluginId,
    runId: null,
    payload: { name, action, version, by: "cli" },
  });
}

async function list(
  store: Store,
  pluginId: string | undefined,
  json: boolean,
  io: CliIo,
): Promise<number> {
  const all = await store.secrets.list(pluginId);
  if (json) {
    io.stdout(JSON.stringify({ secrets: all }) + "\n");
    return ExitCode.ok;
  }
  if (all.length === 0) {
    io.stdout(
      `No secrets in the database${
        pluginId ? ` for ${pluginId}` : ""
      } (host secrets set PLUGIN NAME)\n`,
    );
    return ExitCode.ok;
  }
  const rows = all.map((s) => [s.pluginId, s.name, String(s.version), s.updatedAt]);
  const header = ["PLUGIN", "NAME", "VERSION", "UPDATED"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) {
    io.stdout(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd() + "\n");
  }
  return ExitCode.ok;
}
