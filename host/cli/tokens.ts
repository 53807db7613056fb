/**
 * `host tokens create|list|revoke|ensure`: bearer tokens of the HTTP API.
 * @module
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { resolvePaths } from "../config/paths.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import { openStore, type Store, TokensRepository } from "../store/mod.ts";
import { type CliIo, type Command, commonOptions, intFlag, parseFlags } from "./command.ts";

const usage = `Usage: host tokens <create|list|revoke|ensure> [options]

Bearer tokens for the HTTP API. Only a SHA-256 of each token is stored; the
token itself is printed once, by create.

  host tokens create --scope SCOPE [--scope SCOPE...] [--name NAME] [--expires-days N]
      Scopes: admin (everything), read (plugins, runs, events, metrics, OpenAPI),
      invoke (every capability), invoke:<plugin id> (that plugin's capabilities),
      registry:publish (publish to a registry), registry:admin (also promote, yank).
  host tokens list
  host tokens revoke ID
  host tokens ensure --file PATH --scope SCOPE [--name NAME]
      Prints the token kept in PATH if it is still valid; otherwise creates one
      and writes it to PATH (mode 0600). npm start uses this for its dev token.

Options:
  --db URL      Database (default: $PLUGHOST_DB or $PLUGHOST_HOME/host.db)
  --home DIR    Data directory (default: $PLUGHOST_HOME or ./.plughost)
  --json        Machine-readable output

Exit codes: 0 ok; 1 no such token (revoke); 64 usage; 91 storage.
`;

export const command: Command = {
  name: "tokens",
  summary: "Create, list and revoke HTTP API tokens",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      scope: { type: "string", multiple: true },
      name: { type: "string" },
      "expires-days": { type: "string" },
      file: { type: "string" },
      db: { type: "string" },
      home: { type: "string" },
    }, 2);
    const [action, id] = positionals;
    if (action === undefined) {
      throw new UsageError("Missing action: create, list, revoke or ensure");
    }
    if (!["create", "list", "revoke", "ensure"].includes(action)) {
      throw new UsageError(`Unknown action '${action}': use create, list, revoke or ensure`);
    }
    if (action !== "revoke" && id !== undefined) {
      throw new UsageError(`Unexpected argument '${id}'`);
    }
    const paths = resolvePaths(io.env, io.cwd, { home: values.home, db: values.db });
    await mkdir(paths.home, { recursive: true });
    const store = await openStore({ url: paths.db });
    try {
      const tokens = store.tokens;
      const json = values.json ?? false;
      if (action === "list") return await list(tokens, json, io);
      if (action === "revoke") {
        if (id === undefined) throw new UsageError("Missing token id: see `host tokens list`");
        if (!(await tokens.revoke(id))) {
          throw new HostError("not_found", `No active token '${id}': see \`host tokens list\``);
        }
        io.stdout(json ? JSON.stringify({ revoked: id }) + "\n" : `revoked ${id}\n`);
        return ExitCode.ok;
      }
      const scopes = values.scope ?? [];
      if (scopes.length === 0) throw new UsageError("Give at least one --scope");
      const days = intFlag("expires-days", values["expires-days"]);
      const input = {
        name: values.name ?? scopes.join("+"),
        scopes,
        ...(days === undefined ? {} : { expiresAt: Date.now() + days * 86_400_000 }),
      };
      if (action === "ensure") {
        if (values.file === undefined) throw new UsageError("ensure needs --file PATH");
        return await ensure(store, tokens, resolve(io.cwd, values.file), input, json, io);
      }
      const { token, record } = await tokens.create(input);
      io.stdout(json ? JSON.stringify({ token, ...record }) + "\n" : `${token}\n`);
      if (!json) {
        io.stderr(
          `host tokens: created ${record.id} (${record.scopes.join(", ")}); it is shown only now\n`,
        );
      }
      return ExitCode.ok;
    } finally {
      await store.close();
    }
  },
};

async function list(tokens: TokensRepository, json: boolean, io: CliIo): Promise<number> {
  const all = await tokens.list();
  if (json) io.stdout(JSON.stringify({ tokens: all }) + "\n");
  else if (all.length === 0) {
    io.stdout("No tokens (create one with 'host tokens create --scope read')\n");
  } else {
    const rows = all.map((t) => [
      t.id,
      t.revokedAt
        ? "revoked"
        : t.expiresAt && Date.parse(t.expiresAt) <= Date.now()
        ? "expired"
        : "active",
      t.scopes.join(","),
      t.name,
    ]);
    const header = ["ID", "STATE", "SCOPES", "NAME"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const row of [header, ...rows]) {
      io.stdout(
        row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i]!)).join("  ") +
          "\n",
      );
    }
  }
  return ExitCode.ok;
}

async function ensure(
  _store: Store,
  tokens: TokensRepository,
  file: string,
  input: { name: string; scopes: string[] },
  json: boolean,
  io: CliIo,
): Promise<number> {
  const kept = await readFile(file, "utf8").then((t) => t.trim(), () => "");
  const valid = kept === "" ? undefined : await tokens.verify(kept);
  let token = kept;
  if (!valid) {
    token = (await tokens.create(input)).token;
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, token + "\n", { mode: 0o600 });
    await chmod(file, 0o600);
  }
  io.stdout(json ? JSON.stringify({ token, created: !valid }) + "\n" : `${token}\n`);
  return ExitCode.ok;
}
