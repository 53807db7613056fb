/**
 * `host search [WORDS] --registry URL`: find plugins in a registry.
 * @module
 */
import { ExitCode, UsageError } from "../errors.ts";
import { RegistryClient } from "../registry/mod.ts";
import { type Command, commonOptions, intFlag, parseFlags } from "./command.ts";
import { channelFlag, registryFlags, registryToken, registryUrl } from "./registry-flags.ts";

const usage = `Usage: host search [words...] --registry URL [filters]

Lists plugins published in a registry, one line per plugin (its newest version
on the channel), a page at a time.

Options:
  --registry URL        The registry ($PLUGHOST_REGISTRY)
  --capability NAME     Only plugins providing this capability
  --host-version V      Only plugins whose engines.host includes host version V
  --verified            Only plugins whose signer the registry trusts now
  --channel C           Least stable channel shown: ga (default), beta, draft (needs --token)
  --sort S              id (default), name or updated (newest first)
  --limit N             Plugins per page (default 20, at most 100)
  --cursor C            The next page (printed after a full page)
  --token T             Registry token ($PLUGHOST_REGISTRY_TOKEN)
  --json                Print {"plugins":[...],"nextCursor":...}

Exit codes: 0 ok (also when nothing matched); 64 usage; 93 the registry is unreachable.
`;

export const command: Command = {
  name: "search",
  summary: "Search a registry's plugins (text, capability, host version, verified, channel)",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      ...registryFlags,
      capability: { type: "string" },
      "host-version": { type: "string" },
      verified: { type: "boolean" },
      sort: { type: "string" },
      limit: { type: "string" },
      cursor: { type: "string" },
    });
    const url = registryUrl(values.registry, io);
    if (url === undefined) throw new UsageError("Missing --registry URL (or $PLUGHOST_REGISTRY)");
    const sort = values.sort;
    if (sort !== undefined && sort !== "id" && sort !== "name" && sort !== "updated") {
      throw new UsageError(`--sort takes id, name or updated, not '${sort}'`);
    }
    const page = await new RegistryClient(url, { token: registryToken(values.token, io) }).search({
      q: positionals.length > 0 ? positionals.join(" ") : undefined,
      capability: values.capability,
      host: values["host-version"],
      verified: values.verified ? true : undefined,
      channel: channelFlag(values.channel, "ga"),
      sort,
      limit: intFlag("limit", values.limit),
      cursor: values.cursor,
    });
    if (values.json) {
      io.stdout(JSON.stringify(page) + "\n");
      return ExitCode.ok;
    }
    if (page.plugins.length === 0) io.stdout("no plugins match\n");
    for (const p of page.plugins) {
      io.stdout(
        `${p.id} ${p.version} [${p.channel}]${p.verified ? " verified" : ""} ${p.name}: ${
          p.capabilities.join(", ")
        }\n`,
      );
    }
    if (page.nextCursor) io.stdout(`more: --cursor ${page.nextCursor}\n`);
    return ExitCode.ok;
  },
};
