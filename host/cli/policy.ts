/**
 * `host policy check FILE.wasm`: whether a plugin file's manifest fits the
 * operator policy, with each excess listed.
 * @module
 */
import { resolve } from "node:path";
import { resolvePaths } from "../config/paths.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import {
  checkManifest,
  defaultPolicyPath,
  describeExcesses,
  loadPolicy,
  type PolicyReport,
} from "../policy/mod.ts";
import { checkPlugin, emptyTrustStore } from "../trust/mod.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { readFileArg } from "./files.ts";

const usage = `Usage: host policy check <file.wasm>... [--policy FILE] [--json]

Checks each plugin file's manifest against the operator policy (docs/policy.md):
memory, timeout, HTTP hosts, event topics, secrets and schedule intervals, per
plugin id. Prints every excess; in clamp mode says what would be lowered or
dropped. Signatures are not checked here (use 'host verify').

Options:
  --policy FILE  Policy file (default: <data dir>/policy.json; absent: the built-in policy)
  --home DIR     Data directory (default: $PLUGHOST_HOME or ./.plughost)
  --json         Print [{"file","pluginId","mode","fits","admitted","excesses"}]

Exit codes: 0 every file fits; 1 a file exceeds the policy; 64 usage;
65 a file is missing, not WebAssembly or has no valid manifest, or the policy file is invalid.
`;

export const command: Command = {
  name: "policy",
  summary: "Check plugin files against the operator policy (host policy check FILE.wasm)",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      policy: { type: "string" },
      home: { type: "string" },
    });
    const [action, ...files] = positionals;
    if (action !== "check") {
      throw new UsageError(
        action === undefined ? "Missing action: check" : `Unknown action '${action}': use check`,
      );
    }
    if (files.length === 0) throw new UsageError("Missing <file.wasm>");
    const paths = resolvePaths(io.env, io.cwd, { home: values.home });
    const named = values.policy !== undefined;
    const path = named ? resolve(io.cwd, values.policy as string) : defaultPolicyPath(paths.home);
    const { policy, file: policyFile } = await loadPolicy(path, named);
    const results: (PolicyReport & { file: string })[] = [];
    for (const file of files) {
      const report = await checkPlugin(await readFileArg(file, io.cwd), emptyTrustStore("(none)"), {
        allowUnsigned: true,
      });
      if (report.manifest === undefined) {
        throw new HostError("invalid_input", `${file}: ${report.message}`);
      }
      results.push({ file, ...checkManifest(policy, report.manifest) });
    }
    if (values.json) {
      io.stdout(
        JSON.stringify(
          results.map(({ file, pluginId, mode, fits, admitted, excesses }) => ({
            file,
            pluginId,
            mode,
            fits,
            admitted,
            excesses,
          })),
          null,
          2,
        ) + "\n",
      );
    } else {
      const source = policyFile ?? "the built-in policy";
      for (const r of results) {
        if (r.fits) {
          io.stdout(`${r.file}: ${r.pluginId} fits ${source}\n`);
          continue;
        }
        const verdict = r.admitted ? "would be clamped" : "would be refused";
        io.stdout(`${r.file}: ${r.pluginId} exceeds ${source} (${r.mode} mode: ${verdict}):\n`);
        for (const line of describeExcesses(r).split("; ")) io.stdout(`  ${line}\n`);
      }
    }
    return results.every((r) => r.fits) ? ExitCode.ok : ExitCode.failed;
  },
};
