/**
 * `host registry promote|yank ID@VERSION`: a registry curator's steps.
 * @module
 */
import { ExitCode, UsageError } from "../errors.ts";
import { RegistryClient } from "../registry/mod.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { channelFlag, registryFlags, registryToken, registryUrl } from "./registry-flags.ts";

const usage =
  `Usage: host registry promote <id>@<version> --channel beta|ga --registry URL --token T
       host registry yank <id>@<version> --reason TEXT --registry URL --token T

promote moves a published version to a more stable channel (draft -> beta -> ga);
yank stops installs from choosing it (it stays downloadable by digest, so lockfiles
that name it still work). Both need a token with scope registry:admin.

Options:
  --registry URL   The registry ($PLUGHOST_REGISTRY)
  --token T        A registry:admin token ($PLUGHOST_REGISTRY_TOKEN)
  --channel C      promote: the channel to move to
  --reason TEXT    yank: why
  --json           Print the version as JSON

Exit codes: 0 done; 1 refused (scope, not a promotion, not published); 64 usage; 93 unreachable.
`;

export const command: Command = {
  name: "registry",
  summary: "Promote or yank a published version (host registry promote ID@VERSION --channel ga)",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(
      args,
      { ...commonOptions, ...registryFlags, reason: { type: "string" } },
      2,
    );
    const [action, target] = positionals;
    if (action !== "promote" && action !== "yank") {
      throw new UsageError(`Unknown action '${action ?? ""}': use promote or yank`);
    }
    const match = /^([^@]+)@(.+)$/.exec(target ?? "");
    if (!match) throw new UsageError("Give the version as <id>@<version>, like acme.storage@1.2.0");
    const url = registryUrl(values.registry, io);
    if (url === undefined) throw new UsageError("Missing --registry URL (or $PLUGHOST_REGISTRY)");
    const client = new RegistryClient(url, { token: registryToken(values.token, io) });
    const [, id, version] = match as unknown as [string, string, string];
    let v;
    if (action === "promote") {
      if (values.channel === undefined) throw new UsageError("promote needs --channel beta or ga");
      if (values.reason !== undefined) throw new UsageError("--reason goes with yank, not promote");
      v = await client.promote(id, version, channelFlag(values.channel, "ga"));
    } else {
      if (values.reason === undefined) throw new UsageError("yank needs --reason TEXT");
      if (values.channel !== undefined) {
        throw new UsageError("--channel goes with promote; a yank applies to every channel");
      }
      v = await client.yank(id, version, values.reason);
    }
    io.stdout(
      values.json
        ? JSON.stringify(v) + "\n"
        : `${action === "promote" ? `promoted to ${v.channel}` : "yanked"}: ${id} ${version}\n`,
    );
    return ExitCode.ok;
  },
};
