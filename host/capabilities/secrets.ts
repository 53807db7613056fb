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

/** Looks secrets up by name; undefined when there is no value. */
export interface SecretProvider {
  get(name: string): string | undefined;
}

/** Default prefix of `envSecrets`. */
export const SECRET_ENV_PREFIX = "PLUGHOST_SECRET_";

/**
 * Secrets from environment variables: `API_TOKEN` is `$PLUGHOST_SECRET_API_TOKEN`.
 * Read at each call, so the host's environment decides.
 */
export function envSecrets(
  prefix = SECRET_ENV_PREFIX,
  env: Record<string, string | undefined> = process.env,
): SecretProvider {
  return { get: (name) => env[prefix + name] };
}

const SecretsFile = z.record(z.string(), z.string());

/**
 * Secrets from a JSON file `{"NAME": "value", ...}`, read at each lookup (so a
 * rotated file is seen without a restart). A missing file has no secrets; an
 * unreadable or malformed one is a `host_error` whose message never quotes
 * the file's content.
 */
export function fileSecrets(path: string): SecretProvider {
  return {
    get(name) {
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
          `The secrets file ${path} must be a JSON object of string values; fix it`,
        );
      }
      return Object.hasOwn(parsed.data, name) ? parsed.data[name] : undefined;
    },
  };
}

/** The first provider that has a value wins. */
export function chainSecrets(...providers: SecretProvider[]): SecretProvider {
  return {
    get(name) {
      for (const provider of providers) {
        const value = provider.get(name);
        if (value !== undefined) return value;
      }
      return undefined;
    },
  };
}
