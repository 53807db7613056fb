/**
 * Secret providers: where `secret_get` finds values. Synchronous, because a
 * host function in the main thread must answer at once. Values never leave
 * the provider except as the answer to a granted `secret_get`.
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { z } from "zod";
import { HostError } from "../errors.ts";

/**
 * Looks secrets up by name for a plugin; undefined when there is no value.
 * Providers look in the plugin's own scope first, then in the shared one.
 */
export interface SecretProvider {
  get(name: string, pluginId?: string): string | undefined;
}

/**
 * A plugin id as an environment-variable segment, one to one (two ids never
 * share a scope, so one plugin can never read another's secrets):
 * letters upper-cased, digits kept, `.` -> `_`, `-` -> `__H_`, `_` -> `__U_`.
 * `example.db` -> `EXAMPLE_DB`; `acme-billing` -> `ACME__H_BILLING`. (A `.` is
 * always followed by a letter or digit in an id, so `_` + `_` only starts an escape.)
 */
export function secretScope(pluginId: string): string {
  return pluginId.toUpperCase().replace(
    /[^A-Z0-9]/g,
    (c) => c === "." ? "_" : c === "-" ? "__H_" : c === "_" ? "__U_" : `__X${c.charCodeAt(0)}_`,
  );
}

/**
 * Whether `name` can be looked up in the environment at all. A name with `__`
 * or a leading `_` could spell another plugin's scoped variable
 * (`ACME_BILLING__STRIPE_KEY` is `acme.billing`'s `STRIPE_KEY`), so such names
 * come only from the secrets file, where every key is exact.
 */
export function envSafeName(name: string): boolean {
  return !name.includes("__") && !name.startsWith("_");
}

/** Default prefix of `envSecrets`. */
export const SECRET_ENV_PREFIX = "PLUGHOST_SECRET_";

/**
 * Secrets from environment variables: for plugin `example.db`, `DB_PASSWORD`
 * is `$PLUGHOST_SECRET_EXAMPLE_DB__DB_PASSWORD` (that plugin's own), else the
 * shared `$PLUGHOST_SECRET_DB_PASSWORD`. Read at each call, so the host's
 * environment decides.
 */
export function envSecrets(
  prefix = SECRET_ENV_PREFIX,
  env: Record<string, string | undefined> = process.env,
): SecretProvider {
  return {
    get: (name, pluginId) => {
      if (!envSafeName(name)) return undefined;
      return (pluginId === undefined
        ? undefined
        : env[`${prefix}${secretScope(pluginId)}__${name}`]) ?? env[prefix + name];
    },
  };
}

/** `{"NAME": "shared value", "plugin.id": {"NAME": "that plugin's value"}}`. */
const SecretsFile = z.record(z.string(), z.union([z.string(), z.record(z.string(), z.string())]));

/**
 * Secrets from a JSON file `{"NAME": "value", "plugin.id": {"NAME": "value"}}`
 * (a plugin's own object first, then the shared names), read at each lookup (so a
 * rotated file is seen without a restart). A missing file has no secrets; an
 * unreadable or malformed one is a `host_error` whose message never quotes
 * the file's content.
 */
export function fileSecrets(path: string): SecretProvider {
  return {
    get(name, pluginId) {
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") return undefined;
        throw new HostError("host_error", `Cannot read the secrets file ${path}`);
      }
      let parsed;
      try {
        parsed = SecretsFile.safeParse(JSON.parse(text));
      } catch {
        parsed = { success: false as const };
      }
      if (!parsed.success) {
        throw new HostError(
          "host_error",
          `The secrets file ${path} must be a JSON object of string values (shared) and objects of string values (per plugin id); fix it`,
        );
      }
      const own = pluginId !== undefined && Object.hasOwn(parsed.data, pluginId)
        ? parsed.data[pluginId]
        : undefined;
      if (typeof own === "object" && Object.hasOwn(own, name)) return own[name];
      const shared = Object.hasOwn(parsed.data, name) ? parsed.data[name] : undefined;
      return typeof shared === "string" ? shared : undefined;
    },
  };
}

/** The first provider that has a value wins. */
export function chainSecrets(...providers: SecretProvider[]): SecretProvider {
  return {
    get(name, pluginId) {
      for (const provider of providers) {
        const value = provider.get(name, pluginId);
        if (value !== undefined) return value;
      }
      return undefined;
    },
  };
}
