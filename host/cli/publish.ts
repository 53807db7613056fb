/**
 * `host publish FILE --registry URL`: upload signed plugin files to a registry.
 * @module
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ExitCode, UsageError } from "../errors.ts";
import { RegistryClient } from "../registry/mod.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { readFileArg } from "./files.ts";
import { channelFlag, registryFlags, registryToken, registryUrl } from "./registry-flags.ts";

const usage = `Usage: host publish <file.wasm>... --registry URL [--channel beta] [--token T]

Publishes signed plugin files to a registry ('host serve --registry'). The registry
verifies each against its trust store, checks the manifest, loads it in its sandbox
and keeps it by digest with provenance (signer, source URL, changelog, publisher).
Versions are immutable; publishing the same bytes again is a no-op.

Options:
  --registry URL        The registry ($PLUGHOST_REGISTRY)
  --token T             A token with scope registry:publish ($PLUGHOST_REGISTRY_TOKEN);
                        --channel ga needs registry:admin
  --channel C           draft (default), beta or ga
  --source URL          Where the plugin's source lives
  --changelog TEXT      What changed in this version
  --changelog-file F    The changelog, from a file
  --json                Print the published versions as JSON

Exit codes: 0 published; 1 refused (verification, load, version exists, scope); 64 usage;
65 a file is missing or not WebAssembly; 93 the registry is unreachable.
`;

export const command: Command = {
  name: "publish",
  summary: "Publish signed plugin files to a registry (host publish FILE --registry URL)",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      ...registryFlags,
      source: { type: "string" },
      changelog: { type: "string" },
      "changelog-file": { type: "string" },
    });
    if (positionals.length === 0) throw new UsageError("Missing <file.wasm>");
    const url = registryUrl(values.registry, io);
    if (url === undefined) throw new UsageError("Missing --registry URL (or $PLUGHOST_REGISTRY)");
    if (values.changelog !== undefined && values["changelog-file"] !== undefined) {
      throw new UsageError("Give --changelog or --changelog-file, not both");
    }
    const changelog = values["changelog-file"] === undefined
      ? values.changelog
      : (await readFile(resolve(io.cwd, values["changelog-file"]), "utf8")).trim();
    const client = new RegistryClient(url, { token: registryToken(values.token, io) });
    const channel = channelFlag(values.channel, "draft");
    const published = [];
    for (const file of positionals) {
      const v = await client.publish(await readFileArg(file, io.cwd), {
        channel,
        ...(values.source ? { source: values.source } : {}),
        ...(changelog ? { changelog } : {}),
      });
      published.push(v);
      if (!values.json) {
        io.stdout(
          `published ${v.pluginId} ${v.version} to ${v.channel} (sha256:${
            v.digest.slice(0, 12)
          }…, signed by ${v.signerKeyIds.join(", ")})\n`,
        );
      }
    }
    if (values.json) io.stdout(JSON.stringify(published) + "\n");
    return ExitCode.ok;
  },
};
