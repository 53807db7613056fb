/**
 * `host serve`'s Host header check (docs/http-api.md#host-header-check): the
 * `--allowed-host` / `--allow-any-host` flags and the config file's
 * `allowedHosts` / `allowAnyHost`, merged into `startServer`'s `allowedHosts`.
 * Flags, when given, replace the file's setting as a whole.
 * @module
 */
import { HostError, UsageError } from "../errors.ts";
import { AllowedHostName, type AllowedHosts } from "../server/host-check.ts";

/** The flags' parseArgs options. */
export const hostFlagOptions = {
  "allowed-host": { type: "string", multiple: true },
  "allow-any-host": { type: "boolean" },
} as const;

/** The flags as parsed. */
export interface HostFlags {
  "allowed-host"?: string[] | undefined;
  "allow-any-host"?: boolean | undefined;
}

/** The config file's fields (names already normalized by its schema). */
export interface HostConfig {
  allowedHosts?: string[] | undefined;
  allowAnyHost?: boolean | undefined;
}

/** `startServer`'s `allowedHosts`, or undefined for the default; usage (64) or config (65) errors. */
export function allowedHostsOption(
  flags: HostFlags,
  config: HostConfig,
): AllowedHosts | undefined {
  const named = flags["allowed-host"];
  if (named !== undefined || flags["allow-any-host"] !== undefined) {
    if (named !== undefined && flags["allow-any-host"]) {
      throw new UsageError(
        "--allowed-host and --allow-any-host contradict each other: name hosts, or accept any",
      );
    }
    if (flags["allow-any-host"]) return "any";
    return (named ?? []).map((name) => {
      const parsed = AllowedHostName.safeParse(name);
      if (!parsed.success) {
        throw new UsageError(`--allowed-host: ${parsed.error.issues[0]?.message}`);
      }
      return parsed.data;
    });
  }
  if (config.allowAnyHost && (config.allowedHosts?.length ?? 0) > 0) {
    throw new HostError(
      "invalid_input",
      'The config file sets both "allowedHosts" and "allowAnyHost": name hosts, or accept any',
    );
  }
  return config.allowAnyHost ? "any" : config.allowedHosts;
}
