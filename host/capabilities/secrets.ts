/**
 * Secret providers: where `secret_get` finds values. Synchronous, because a
 * host function in the main thread must answer at once. Values never leave
 * the provider except as the answer to a granted `secret_get`.
 * @module
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { z } from "zod";
import { HostError } from "../errors.ts";

/**
 * Looks secrets up by name for a plugin; undefined when there is no value.
 * Providers look in the plugin's own scope first, then in the shared one.
 */
export interface SecretProvider {
  get(name: string, pluginId?: string): string | undefined;
  /** What the audit trail calls this provider (`env`, `file`, `database`); default `custom`. */
  readonly kind?: string;
  /** The value and the kind of the provider that has it (a chain says which of its providers). */
  find?(name: string, pluginId?: string): SecretFound | undefined;
  /**
   * Loads what `get` will answer for `pluginId`, for providers that cannot
   * read synchronously (the database); awaited before each run of the plugin.
   * True when it loaded anew (a cache in front then forgets the plugin's answers).
   */
  prepare?(pluginId: string): Promise<boolean | void>;
}

/** A value and the provider kind that holds it (for `secret.read` audit events). */
export interface SecretFound {
  value: string;
  provider: string;
}

/** `provider`'s value of `name` for `pluginId`, with the kind of provider that had it. */
export function findSecret(
  provider: SecretProvider,
  name: string,
  pluginId?: string,
): SecretFound | undefined {
  if (provider.find) return provider.find(name, pluginId);
  const value = provider.get(name, pluginId);
  return value === undefined ? undefined : { value, provider: provider.kind ?? "custom" };
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
    kind: "env",
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
 * (a plugin's own object first, then the shared names), or from a directory
 * of files (`DIR/plugin.id/NAME`, then the shared `DIR/NAME`, each file's
 * content the value, one trailing newline dropped: the layout of mounted
 * Docker and Kubernetes secrets). Read at each lookup (so a rotated file is
 * seen without a restart; `cachedSecrets` bounds how often). A missing path
 * has no secrets; an unreadable or malformed one is a `host_error` whose
 * message never quotes the content.
 */
export function fileSecrets(path: string): SecretProvider {
  return {
    kind: "file",
    get(name, pluginId) {
      let isDirectory = false;
      try {
        isDirectory = statSync(path).isDirectory();
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") return undefined;
        throw new HostError("host_error", `Cannot read the secrets path ${path}`);
      }
      return isDirectory ? fromDirectory(path, name, pluginId) : fromJsonFile(path, name, pluginId);
    },
  };
}

const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function fromDirectory(dir: string, name: string, pluginId?: string): string | undefined {
  // Names and ids come from validated manifests; checked again so no lookup leaves the directory.
  if (!SAFE_SEGMENT.test(name) || (pluginId !== undefined && !SAFE_SEGMENT.test(pluginId))) {
    return undefined;
  }
  const candidates = pluginId === undefined
    ? [join(dir, name)]
    : [join(dir, pluginId, name), join(dir, name)];
  for (const file of candidates) {
    try {
      return readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") continue;
      throw new HostError("host_error", `Cannot read the secret file ${file}`);
    }
  }
  return undefined;
}

function fromJsonFile(path: string, name: string, pluginId?: string): string | undefined {
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
}

/** The first provider that has a value wins. */
export function chainSecrets(...providers: SecretProvider[]): SecretProvider {
  const find = (name: string, pluginId?: string): SecretFound | undefined => {
    for (const provider of providers) {
      const found = findSecret(provider, name, pluginId);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return {
    kind: "chain",
    find,
    get: (name, pluginId) => find(name, pluginId)?.value,
    async prepare(pluginId) {
      let reloaded = false;
      for (const provider of providers) {
        if ((await provider.prepare?.(pluginId)) === true) reloaded = true;
      }
      return reloaded;
    },
  };
}

/** Default time a looked-up secret (or its absence) is reused: a rotated value is seen within it. */
export const SECRET_CACHE_MS = 5000;

/**
 * `provider` with each answer (a value or its absence) kept for `ttlMs` per
 * plugin and name, so redaction (which looks up every granted value for each
 * log line and publish) does not re-read a file or the environment each time.
 * A rotated value is seen once its entry is older than `ttlMs`.
 */
export function cachedSecrets(
  provider: SecretProvider,
  ttlMs = SECRET_CACHE_MS,
  now: () => number = Date.now,
): SecretProvider {
  // Per plugin id ("" for none), per name.
  const entries = new Map<string, Map<string, { found: SecretFound | undefined; at: number }>>();
  const find = (name: string, pluginId?: string): SecretFound | undefined => {
    let own = entries.get(pluginId ?? "");
    const entry = own?.get(name);
    const t = now();
    if (entry && t - entry.at < ttlMs) return entry.found;
    const found = findSecret(provider, name, pluginId);
    if (ttlMs > 0) {
      if (!own) entries.set(pluginId ?? "", own = new Map());
      own.set(name, { found, at: t });
    }
    return found;
  };
  return {
    kind: provider.kind ?? "custom",
    find,
    get: (name, pluginId) => find(name, pluginId)?.value,
    ...(provider.prepare
      ? {
        async prepare(id: string) {
          // A provider that loaded anew (the database) must not be hidden behind older answers,
          // such as an environment value cached before the plugin's first load.
          const reloaded = await provider.prepare!(id);
          if (reloaded === true) entries.delete(id);
          return reloaded;
        },
      }
      : {}),
  };
}
