/**
 * `host install FILE.wasm...`: verify plugin files and install them into the
 * data directory, where `host serve` loads them on start.
 * @module
 */
import { resolve } from "node:path";
import { capabilityProvider } from "../capabilities/mod.ts";
import { resolvePaths } from "../config/paths.ts";
import { admitter, defaultPolicyPath, lifecycleSettings, loadPolicy } from "../policy/mod.ts";
import { ExitCode, UsageError } from "../errors.ts";
import { createHost } from "../host.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { readFileArg } from "./files.ts";

const usage = `Usage: host install <file.wasm>... [options]

Verifies each plugin file against the trust store and installs it: the module is
kept by digest under <data dir>/plugins and recorded in the database, so
'host serve' loads it on start. An installed id is replaced only by a higher
version unless --force.

Options:
  --force            Replace an installed plugin with the same or a lower version
  --allow-rekey      Accept a file signed by a key other than the one the id is pinned to,
                     and pin the id to the new signer (event plugin.rekeyed)
  --home DIR         Data directory (default: $PLUGHOST_HOME or ./.plughost)
  --db URL           Database (default: $PLUGHOST_DB or <data dir>/host.db)
  --trust PATH       Trust store (default: $PLUGHOST_TRUST or <data dir>/trust)
  --policy FILE      Operator policy (default: <data dir>/policy.json; absent: the built-in
                     policy); a plugin asking for more is refused, or clamped in clamp mode
  --allow-unsigned   Dev only: install a plugin that is unsigned or signed by an unknown key
  --json             Print [{"file","id","version","digest","signers"}]

Exit codes: 0 all installed; 1 a file did not verify, a newer version is installed, the
signer is not the id's pinned key, or it asks for more than the policy allows;
64 usage; 65 a file is missing or not WebAssembly, or the policy file is invalid; 91 storage.
`;

export const command: Command = {
  name: "install",
  summary: "Verify plugin files and install them into the data directory",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      force: { type: "boolean" },
      "allow-rekey": { type: "boolean" },
      home: { type: "string" },
      db: { type: "string" },
      trust: { type: "string" },
      policy: { type: "string" },
      "allow-unsigned": { type: "boolean" },
    });
    if (positionals.length === 0) throw new UsageError("Missing <file.wasm>");
    const files = await Promise.all(
      positionals.map(async (f) => ({ file: f, wasm: await readFileArg(f, io.cwd) })),
    );
    const paths = resolvePaths(io.env, io.cwd, {
      home: values.home,
      db: values.db,
      trust: values.trust,
    });
    const named = values.policy !== undefined;
    const { policy, file: policyFile } = await loadPolicy(
      named ? resolve(io.cwd, values.policy as string) : defaultPolicyPath(paths.home),
      named,
    );
    const host = await createHost({
      paths,
      installed: false,
      admit: admitter(policy, policyFile ? `the policy ${policyFile}` : "the built-in policy"),
      lifecycle: lifecycleSettings(policy),
      hostFunctions: capabilityProvider({ operatorPolicy: policy }),
      allowUnsigned: values["allow-unsigned"] ?? false,
    });
    const installed = [];
    try {
      for (const { file, wasm } of files) {
        const info = await host.install(wasm, {
          force: values.force ?? false,
          rekey: values["allow-rekey"] ?? false,
          source: file,
          via: "cli",
        });
        installed.push({
          file,
          id: info.id,
          version: info.version,
          digest: info.digest,
          signers: info.signers,
        });
        if (!values.json) {
          const by = info.signers.map((s) => s.label ?? s.keyId).join(", ") || "nobody (dev mode)";
          io.stdout(
            `installed ${info.id} ${info.version} (sha256:${
              info.digest.slice(0, 12)
            }…, signed by ${by})\n`,
          );
        }
      }
    } finally {
      await host.close();
    }
    if (values.json) io.stdout(JSON.stringify(installed) + "\n");
    return ExitCode.ok;
  },
};
