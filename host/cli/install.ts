/**
 * `host install`: plugin files, plugins from a registry (ID[@RANGE]), or
 * exactly what `plughost.lock` names (--locked); always as one verified,
 * resolved set (all or nothing), and the lockfile is rewritten.
 * @module
 */
import { resolve } from "node:path";
import { readLockfile, type SetChange } from "../core/mod.ts";
import { ExitCode, UsageError } from "../errors.ts";
import {
  installFromRegistry,
  installLocked,
  parseRequest,
  type PlannedChange,
  RegistryClient,
} from "../registry/mod.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { readFileArg } from "./files.ts";
import {
  channelFlag,
  describeChanges,
  hostFlags,
  openForChanges,
  registryFlags,
  registryToken,
  registryUrl,
} from "./registry-flags.ts";

const usage = `Usage: host install <file.wasm>... [options]
       host install <id>[@<range>]... --registry URL [--channel beta] [--accept-permissions]
       host install --locked [--lockfile FILE] [--registry URL]

Installs plugins into the data directory, where 'host serve' loads them on start:
plugin files, plugins from a registry with their dependencies, or exactly the
digests <data dir>/plughost.lock names (--locked). The whole set is verified
against the local trust store and its dependencies resolved with what is
installed BEFORE anything changes; then it is installed dependencies first, all
or nothing. The lockfile is rewritten (docs/registry.md). An installed id is
replaced only by a higher version unless --force.

Options:
  --registry URL         Registry to install from ($PLUGHOST_REGISTRY); with --locked, the one
                         to fetch from when an entry names none
  --channel C            Least stable channel to choose from: ga (default), beta or draft
  --token T              Registry token, for the draft channel ($PLUGHOST_REGISTRY_TOKEN)
  --accept-permissions   Accept the new permissions an update of an installed plugin asks for
  --locked               Install the exact digests of the lockfile, or fail changing nothing
  --lockfile FILE        The lockfile to read with --locked (default <data dir>/plughost.lock)
  --force                Replace an installed plugin with the same or a lower version
  --allow-rekey          Accept a file signed by a key other than the one the id is pinned to,
                         and pin the id to the new signer (event plugin.rekeyed)
  --home DIR             Data directory (default: $PLUGHOST_HOME or ./.plughost)
  --db URL               Database (default: $PLUGHOST_DB or <data dir>/host.db)
  --trust PATH           Trust store (default: $PLUGHOST_TRUST or <data dir>/trust)
  --policy FILE          Operator policy (default: <data dir>/policy.json; absent: the built-in
                         policy); a plugin asking for more is refused, or clamped in clamp mode
  --allow-unsigned       Dev only: install a plugin that is unsigned or signed by an unknown key
  --json                 Print [{"file","id","version","digest","signers"}] (files), or
                         {"changes":[...]} (registry, --locked)

Exit codes: 0 installed; 1 a file did not verify, a dependency is missing, conflicts or forms
a cycle, an update needs --accept-permissions, a newer version is installed, the signer is not
the id's pinned key, or it asks for more than the policy allows; 64 usage; 65 a file is missing
or not WebAssembly, or the policy file or lockfile is invalid; 91 storage; 93 registry unreachable.
`;

export const command: Command = {
  name: "install",
  summary: "Install plugin files, plugins from a registry, or the lockfile's exact set",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      ...hostFlags,
      ...registryFlags,
      force: { type: "boolean" },
      "allow-rekey": { type: "boolean" },
      "accept-permissions": { type: "boolean" },
      locked: { type: "boolean" },
      lockfile: { type: "string" },
    });
    const url = registryUrl(values.registry, io);
    const token = registryToken(values.token, io);
    const fromFiles = !values.locked &&
      (url === undefined || positionals.some((p) => p.endsWith(".wasm")));
    if (!fromFiles && (values.force || values["allow-rekey"])) {
      // Registry and lockfile installs pick versions themselves; a signer change is a file install.
      throw new UsageError(
        "--force and --allow-rekey go with plugin files, not --registry or --locked",
      );
    }
    if (values.locked) {
      if (positionals.length > 0) {
        throw new UsageError("--locked installs the lockfile's set: give no plugins");
      }
      const host = await openForChanges(values, io);
      try {
        const lock = await readLockfile(
          values.lockfile === undefined ? host.lockfile : resolve(io.cwd, values.lockfile),
        );
        const changes = await installLocked(host, lock, {
          client: (entryUrl) => new RegistryClient(url ?? entryUrl, { token }),
        });
        print(io, values.json, changes);
      } finally {
        await host.close();
      }
      return ExitCode.ok;
    }
    if (values.lockfile !== undefined) throw new UsageError("--lockfile goes with --locked");
    if (positionals.length === 0) throw new UsageError("Missing <file.wasm> or <id>[@<range>]");
    if (url !== undefined && !positionals.some((p) => p.endsWith(".wasm"))) {
      const requests = positionals.map(parseRequest);
      const host = await openForChanges(values, io);
      try {
        const { planned, changes } = await installFromRegistry(host, requests, {
          client: new RegistryClient(url, { token }),
          channel: channelFlag(values.channel, "ga"),
          acceptPermissions: values["accept-permissions"] ?? false,
        });
        print(io, values.json, changes, planned);
      } finally {
        await host.close();
      }
      return ExitCode.ok;
    }
    if (
      values.channel !== undefined || values["accept-permissions"] ||
      values.registry !== undefined ||
      values.token !== undefined
    ) {
      throw new UsageError(
        "--registry, --channel, --token and --accept-permissions go with plugin ids, not files",
      );
    }
    const files = await Promise.all(
      positionals.map(async (f) => ({ wasm: await readFileArg(f, io.cwd), source: f })),
    );
    const host = await openForChanges(values, io);
    let installed;
    try {
      installed = (await host.installSet(files, {
        force: values.force ?? false,
        rekey: values["allow-rekey"] ?? false,
        via: "cli",
      })).installed;
    } finally {
      await host.close();
    }
    const rows = installed.map((info) => ({
      file: info.source,
      id: info.id,
      version: info.version,
      digest: info.digest,
      signers: info.signers,
    }));
    if (values.json) io.stdout(JSON.stringify(rows) + "\n");
    else {
      for (const info of installed) {
        const by = info.signers.map((s) => s.label ?? s.keyId).join(", ") || "nobody (dev mode)";
        io.stdout(
          `installed ${info.id} ${info.version} (sha256:${
            info.digest.slice(0, 12)
          }…, signed by ${by})\n`,
        );
      }
    }
    return ExitCode.ok;
  },
};

function print(
  io: { stdout(text: string): void },
  json: boolean | undefined,
  changes: readonly SetChange[],
  planned: readonly PlannedChange[] = [],
): void {
  if (json) io.stdout(JSON.stringify({ changes, planned }) + "\n");
  else if (changes.length === 0) io.stdout("nothing to change: the set is installed\n");
  else io.stdout(describeChanges(changes, planned));
}
