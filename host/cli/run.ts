/**
 * `host run PLUGIN CAPABILITY [--field value ...]`: a CLI generated from the
 * capability's input schema (host/cli/schema-flags.ts). The input is built
 * from the flags (and `--input JSON`), checked before the call (exit 65
 * naming the flag), and run through the host's one invoke (trigger `cli`)
 * against the data directory's installed plugin, or a `.wasm` file; with
 * `--server URL` through a running server's HTTP API instead. `--follow`
 * prints the run's progress and log lines (stderr) as they happen.
 * @module
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { resolvePaths } from "../config/paths.ts";
import { installedPath } from "../core/install.ts";
import type { PluginInfo } from "../core/mod.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import { createHost, type Host } from "../host.ts";
import { ulid } from "../store/mod.ts";
import { failure, type Outcome, print } from "./call.ts";
import type { CliIo, Command } from "./command.ts";
import { readFileArg } from "./files.ts";
import { followLocal } from "./run-follow.ts";
import { runRemote } from "./run-remote.ts";
import { capabilityHelp, inputFromFlags } from "./schema-flags.ts";
import { baselineProcess } from "../adapter/baseline-wasm.ts";

const usage = `Usage: host run <plugin> <capability> [--field value ...] [options]

Calls a capability with its input given as flags generated from the capability's
input schema: 'host run <plugin> <capability> --help' lists them (type, required,
enum, default, description). A nested object's field is --parent.child; an array
field takes the flag once per element or a JSON array. The input is checked
against the schema before the call (exit 65 naming the flag). The run goes through
the host's one invoke (trigger cli) and is recorded like any other.

<plugin> is the id of a plugin installed in the data directory, or a .wasm file.

Options:
  --input JSON       Start from this input object; field flags are set on top of it
  --follow           Print the run's progress events and log lines to stderr as they come
  --json             Print {"ok":...,"output":...,"usage":...,"runId":...}
  --server URL       Run on a server (host serve) through its HTTP API instead; the token
                     comes from --token or $PLUGHOST_TOKEN
  --token TOKEN      Bearer token for --server (scope invoke, and read for --help/--follow)
  --db URL           Database (default: $PLUGHOST_DB, else the data directory's host.db)
  --trust PATH       Trust store directory (default: $PLUGHOST_TRUST or <data dir>/trust)
  --allow-unsigned   Dev only: run an unsigned or untrusted .wasm file (warns)

These option names win over a field of the same name; give such a field in --input.

Exit codes: 0 ok; 1 the call failed or the plugin is not installed; 64 usage (an
unknown flag); 65 the input does not match the schema (the flag is named); 93 --server
unreachable.
`;

/** The command's own options; everything else is a field flag. */
const valued = new Set(["input", "server", "token", "db", "trust"]);
const switches = new Set(["follow", "json", "allow-unsigned", "help"]);

interface RunArgs {
  plugin: string | undefined;
  capability: string | undefined;
  options: Record<string, string | boolean>;
  fields: string[];
}

/** Splits argv into positionals, the command's options and field flags. */
function splitArgs(args: string[]): RunArgs {
  const out: RunArgs = { plugin: undefined, capability: undefined, options: {}, fields: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-h") {
      out.options.help = true;
      continue;
    }
    if (!arg.startsWith("--")) {
      if (out.plugin === undefined) out.plugin = arg;
      else if (out.capability === undefined) out.capability = arg;
      else out.fields.push(arg); // a field flag's value
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (switches.has(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out.options[name] = true;
    } else if (valued.has(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      out.options[name] = value;
    } else {
      out.fields.push(arg);
    }
  }
  return out;
}

export const command: Command = {
  name: "run",
  summary: "Call a capability with flags generated from its input schema (--help lists them)",
  usage,
  ownHelp: true,
  async run(args, io) {
    const parsed = splitArgs(args);
    const { plugin, capability, options } = parsed;
    if (plugin === undefined || capability === undefined) {
      if (options.help) {
        io.stdout(usage);
        return ExitCode.ok;
      }
      throw new UsageError("Missing <plugin> or <capability>");
    }
    const base = baseInput(options.input);
    const server = str(options.server);
    if (server !== undefined) {
      return await runRemote({
        server,
        token: str(options.token) ?? io.env.PLUGHOST_TOKEN,
        plugin,
        capability,
        fields: parsed.fields,
        base,
        help: options.help === true,
        follow: options.follow === true,
        json: options.json === true,
      }, io);
    }
    if (options.token !== undefined) throw new UsageError("--token applies to --server only");
    const paths = resolvePaths(io.env, io.cwd, { db: str(options.db), trust: str(options.trust) });
    const file = plugin.endsWith(".wasm");
    if (!file && !existsSync(paths.home) && options.db === undefined && !io.env.PLUGHOST_DB) {
      throw new HostError(
        "not_found",
        `No data directory at ${paths.home}: install the plugin first (host install FILE.wasm), or give a .wasm file`,
      );
    }
    // One module instrumented and one call: no tier-up (baseline-wasm.ts).
    baselineProcess();
    const host = await createHost({
      home: paths.home,
      paths: { trust: paths.trust, db: paths.db },
      installed: false,
      allowUnsigned: options["allow-unsigned"] === true,
      cache: existsSync(paths.home),
      // One plugin, once: starting the instrumenter's thread would cost more than it frees.
      instrumentThreads: false,
    });
    try {
      const info = file ? await loadFile(host, plugin, io) : await loadInstalled(host, plugin);
      for (const warning of info.warnings) io.stderr(`host run: warning: ${warning}\n`);
      const caps = info.manifest.capabilities;
      const cap = Object.hasOwn(caps, capability) ? caps[capability] : undefined;
      if (cap === undefined) {
        throw new HostError(
          "not_found",
          `Plugin '${info.id}' has no capability '${capability}' (it has: ${
            Object.keys(caps).join(", ") || "none"
          })`,
        );
      }
      if (options.help) {
        io.stdout(capabilityHelp(info.id, capability, cap.description, cap.input));
        return ExitCode.ok;
      }
      const input = inputFromFlags(cap.input, parsed.fields, base);
      const bytes = new TextEncoder().encode(JSON.stringify(input));
      const runId = ulid();
      const call = host.invoke({
        pluginId: info.id,
        capability,
        input: bytes,
        trigger: "cli",
        requireJson: true,
        durable: true,
        runId,
      });
      const stop = options.follow ? followLocal(host, runId, io) : undefined;
      const result: Outcome = await call.catch((error) => {
        if (!options.json || !(error instanceof HostError)) throw error;
        return failure(error);
      }).finally(async () => await stop?.());
      return print(result, options.json === true, io, "run");
    } finally {
      await host.close();
    }
  },
};

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** The --input object (a JSON object), or {}. */
export function baseInput(text: string | boolean | undefined): Record<string, unknown> {
  if (typeof text !== "string") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HostError(
      "invalid_json",
      `--input is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HostError("invalid_input", '--input must be a JSON object, like \'{"name":"Ada"}\'');
  }
  return value as Record<string, unknown>;
}

/** The installed plugin `id` (its recorded module, verified again), loaded into `host`. */
async function loadInstalled(host: Host, id: string): Promise<PluginInfo> {
  const record = await host.store.plugins.get(id);
  if (record === undefined) {
    const installed = (await host.store.plugins.list()).map((p) => p.id);
    throw new HostError(
      "not_found",
      `No plugin '${id}' is installed in ${host.paths.home} (installed: ${
        installed.join(", ") || "none"
      }): host install FILE.wasm, or give a .wasm file`,
    );
  }
  if (record.state === "disabled") {
    throw new HostError("conflict", `Plugin '${id}' is disabled: host plugins enable ${id}`);
  }
  const wasm = new Uint8Array(await readFile(installedPath(host.paths.plugins, record.digest)));
  return await host.load(wasm, "installed");
}

async function loadFile(host: Host, file: string, io: CliIo): Promise<PluginInfo> {
  return await host.load(await readFileArg(file, io.cwd), file);
}
