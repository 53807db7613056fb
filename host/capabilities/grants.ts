/**
 * What a call may do, read from the call's host context (the manifest's
 * `permissions`, put there by the runtime), never from the plugin's request.
 * @module
 */
import type { Manifest } from "../manifest/mod.ts";
import type { HostCall } from "../sandbox/mod.ts";
import { DEFAULT_KV_MAX_KEYS } from "../store/mod.ts";

/** A plugin's grants, normalized. */
export interface Grants {
  /** The KV quota in bytes (already capped by policy), or null without `permissions.kv`. */
  kvQuotaBytes: number | null;
  /** The KV key limit (`permissions.kv.maxKeys` or the default), or null without `permissions.kv`. */
  kvMaxKeys: number | null;
  publish: string[];
  secrets: ReadonlySet<string>;
  /** `plugin.id/capability` targets. */
  invoke: ReadonlySet<string>;
  allowedHosts: string[];
  /** `permissions.http.inject`: per allowedHosts entry, the header the host adds from a secret. */
  inject: Readonly<Record<string, Injection>>;
  /** The secret names `inject` uses (their values are redacted like read ones). */
  injectSecrets: ReadonlySet<string>;
}

/** One `permissions.http.inject` entry. */
export interface Injection {
  header: string;
  secret: string;
  format?: string | undefined;
}

type Permissions = NonNullable<Manifest["permissions"]>;

const cache = new WeakMap<object, Grants>();

/** The grants of a manifest's permissions, with the KV quota capped at `maxKvQuotaBytes`. */
export function grantsOf(permissions: Permissions | undefined, maxKvQuotaBytes: number): Grants {
  const p = permissions ?? {};
  return {
    kvQuotaBytes: p.kv ? Math.min(p.kv.quotaBytes, maxKvQuotaBytes) : null,
    kvMaxKeys: p.kv ? p.kv.maxKeys ?? DEFAULT_KV_MAX_KEYS : null,
    publish: p.events?.publish ?? [],
    secrets: new Set(p.secrets ?? []),
    invoke: new Set(p.invoke ?? []),
    allowedHosts: p.http?.allowedHosts ?? [],
    inject: p.http?.inject ?? {},
    injectSecrets: new Set(Object.values(p.http?.inject ?? {}).map((i) => i.secret)),
  };
}

/** Narrows a plugin's permissions to what the operator policy grants (host/policy `clampPermissions`). */
export type NarrowPermissions = (
  pluginId: string,
  permissions: Permissions | undefined,
) => Permissions | undefined;

/**
 * The grants of a running call. The runtime passes the manifest's permissions
 * object as `call.grants` (the same object on every call, hence the cache),
 * narrowed by the operator policy when `narrow` is given.
 */
export function callGrants(
  call: HostCall,
  maxKvQuotaBytes: number,
  narrow?: NarrowPermissions,
): Grants {
  const source = call.grants;
  if (typeof source !== "object" || source === null) return grantsOf(undefined, maxKvQuotaBytes);
  let grants = cache.get(source);
  if (!grants) {
    const permissions = source as Permissions;
    grants = grantsOf(narrow ? narrow(call.pluginId, permissions) : permissions, maxKvQuotaBytes);
    cache.set(source, grants);
  }
  return grants;
}
