/**
 * What the registry-related commands share: flags for the data directory and
 * the registry, opening a host to change installed plugins, and printing a plan.
 * @module
 */
import { resolve } from "node:path";
import { capabilityProvider } from "../capabilities/mod.ts";
import { resolvePaths } from "../config/paths.ts";
import type { SetChange } from "../core/mod.ts";
import { UsageError } from "../errors.ts";
import { createHost, type Host } from "../host.ts";
import { admitter, defaultPolicyPath, lifecycleSettings, loadPolicy } from "../policy/mod.ts";
import type { PlannedChange } from "../registry/mod.ts";
import { RegistryChannel } from "../store/mod.ts";
import type { CliIo } from "./command.ts";

/** Flags of commands that change installed plugins. */
export const hostFlags = {
  home: { type: "string" },
  db: { type: "string" },
  trust: { type: "string" },
  policy: { type: "string" },
  "allow-unsigned": { type: "boolean" },
} as const;

/** Flags of commands that talk to a registry. */
export const registryFlags = {
  registry: { type: "string" },
  token: { type: "string" },
  channel: { type: "string" },
} as const;

/** Opens the data directory's host without loading its plugins (install-style commands). */
export async function openForChanges(
  values: {
    home?: string | undefined;
    db?: string | undefined;
    trust?: string | undefined;
    policy?: string | undefined;
    "allow-unsigned"?: boolean | undefined;
  },
  io: CliIo,
): Promise<Host> {
  const paths = resolvePaths(io.env, io.cwd, {
    home: values.home,
    db: values.db,
    trust: values.trust,
  });
  const named = values.policy !== undefined;
  const { policy, file } = await loadPolicy(
    named ? resolve(io.cwd, values.policy as string) : defaultPolicyPath(paths.home),
    named,
  );
  return await createHost({
    paths,
    installed: false,
    admit: admitter(policy, file ? `the policy ${file}` : "the built-in policy"),
    lifecycle: lifecycleSettings(policy),
    hostFunctions: capabilityProvider({ operatorPolicy: policy }),
    allowUnsigned: values["allow-unsigned"] ?? false,
  });
}

/** The registry URL: --registry, else $PLUGHOST_REGISTRY. */
export function registryUrl(flag: string | undefined, io: CliIo): string | undefined {
  return flag ?? io.env.PLUGHOST_REGISTRY;
}

/** The registry token: --token, else $PLUGHOST_REGISTRY_TOKEN. */
export function registryToken(flag: string | undefined, io: CliIo): string | undefined {
  return flag ?? io.env.PLUGHOST_REGISTRY_TOKEN;
}

/** --channel checked (default `fallback`). */
export function channelFlag(value: string | undefined, fallback: RegistryChannel): RegistryChannel {
  if (value === undefined) return fallback;
  const parsed = RegistryChannel.safeParse(value);
  if (!parsed.success) throw new UsageError(`--channel takes draft, beta or ga, not '${value}'`);
  return parsed.data;
}

/** One line per change: version move, digest, changelog and permission diff. */
export function describeChanges(
  changes: readonly SetChange[],
  planned: readonly PlannedChange[] = [],
): string {
  return changes.map((c) => {
    const plan = planned.find((p) => p.id === c.id);
    const lines = [
      `${c.from === undefined ? "installed" : "updated"} ${c.id} ${
        c.from === undefined ? "" : `${c.from} -> `
      }${c.version} (sha256:${c.digest.slice(0, 12)}…)`,
    ];
    if (plan?.changelog) lines.push(`  changelog: ${plan.changelog}`);
    if (c.permissions.added.length > 0) {
      lines.push(`  + permissions: ${c.permissions.added.join(", ")}`);
    }
    if (c.from !== undefined && c.permissions.removed.length > 0) {
      lines.push(`  - permissions: ${c.permissions.removed.join(", ")}`);
    }
    return lines.join("\n") + "\n";
  }).join("");
}
