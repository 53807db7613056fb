/**
 * `host update [ID...]`: move installed plugins to their newest version in
 * range on a registry, showing changelogs and permission diffs; new
 * permissions need --accept-permissions.
 * @module
 */
import { readLockfile } from "../core/mod.ts";
import { ExitCode, UsageError } from "../errors.ts";
import { installFromRegistry, RegistryClient } from "../registry/mod.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import {
  channelFlag,
  describeChanges,
  hostFlags,
  openForChanges,
  registryFlags,
  registryToken,
  registryUrl,
} from "./registry-flags.ts";

const usage = `Usage: host update [<id>...] [--registry URL] [--accept-permissions]

Updates the given installed plugins (default: all) to the newest version on the
registry that every installed plugin's ranges accept; dependencies move with them
when needed. Shows each changelog and permission diff. An update that asks for
permissions the installed version did not have is refused (exit 1, the diff
printed) unless --accept-permissions. All or nothing; the lockfile is rewritten.

Options:
  --registry URL         The registry ($PLUGHOST_REGISTRY; default: the one the lockfile names)
  --channel C            Least stable channel: ga (default), beta or draft
  --token T              Registry token, for the draft channel ($PLUGHOST_REGISTRY_TOKEN)
  --accept-permissions   Accept the new permissions
  --home DIR, --db URL, --trust PATH, --policy FILE, --allow-unsigned   as for install
  --json                 Print {"changes":[...],"planned":[...]}

Exit codes: 0 updated or nothing to do; 1 refused (consent, dependencies, verification);
64 usage; 91 storage; 93 the registry is unreachable.
`;

export const command: Command = {
  name: "update",
  summary: "Update installed plugins from a registry (changelog, permission diff, consent)",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      ...hostFlags,
      ...registryFlags,
      "accept-permissions": { type: "boolean" },
    });
    const host = await openForChanges(values, io);
    try {
      const installed = (await host.store.plugins.list()).map((p) => p.id);
      for (const id of positionals) {
        if (!installed.includes(id)) {
          throw new UsageError(`'${id}' is not installed: install it first`);
        }
      }
      let url = registryUrl(values.registry, io);
      if (url === undefined) {
        const lock = await readLockfile(host.lockfile).catch(() => undefined);
        const named = new Set(Object.values(lock?.plugins ?? {}).flatMap((p) => p.registry ?? []));
        if (named.size !== 1) {
          throw new UsageError("Missing --registry URL: the lockfile names no single registry");
        }
        url = [...named][0]!;
      }
      const { planned, changes } = await installFromRegistry(host, [], {
        client: new RegistryClient(url, { token: registryToken(values.token, io) }),
        channel: channelFlag(values.channel, "ga"),
        update: positionals.length > 0 ? positionals : installed,
        acceptPermissions: values["accept-permissions"] ?? false,
      });
      if (values.json) io.stdout(JSON.stringify({ changes, planned }) + "\n");
      else if (changes.length === 0) io.stdout("up to date\n");
      else io.stdout(describeChanges(changes, planned));
    } finally {
      await host.close();
    }
    return ExitCode.ok;
  },
};
