/**
 * Permission diffs between two versions of a plugin, for update consent:
 * each grant as one line (`http:api.example.com`, `secret:TOKEN`), so what
 * an update adds is a set difference an operator can read.
 * @module
 */
import type { Manifest } from "../manifest/schema.ts";

/**
 * The grants a manifest asks for, one string each, sorted. Besides its
 * permissions: each secret the host injects into its requests (sent to that
 * host on every request, so it counts like a secret it reads) and each route
 * anyone may call without a token (`route.public:GET /path`).
 */
export function grantsOf(manifest: Pick<Manifest, "permissions" | "routes">): string[] {
  const p = manifest.permissions ?? {};
  const out: string[] = [];
  if (p.wasi) out.push("wasi");
  if (p.kv) {
    out.push(`kv.quotaBytes:${p.kv.quotaBytes}`);
    if (p.kv.maxKeys !== undefined) out.push(`kv.maxKeys:${p.kv.maxKeys}`);
  }
  for (const t of p.events?.publish ?? []) out.push(`events.publish:${t}`);
  for (const t of p.events?.subscribe ?? []) out.push(`events.subscribe:${t}`);
  for (const h of p.http?.allowedHosts ?? []) out.push(`http:${h}`);
  for (const [h, i] of Object.entries(p.http?.inject ?? {})) {
    out.push(`http.inject:${h}:${i.header.toLowerCase()}=secret:${i.secret}`);
  }
  for (const s of p.secrets ?? []) out.push(`secret:${s}`);
  for (const i of p.invoke ?? []) out.push(`invoke:${i}`);
  for (const r of manifest.routes ?? []) {
    if (r.auth === "public") out.push(`route.public:${r.method} ${r.path}`);
  }
  return [...new Set(out)].sort();
}

/** What `next` asks for that `previous` did not, and what it no longer asks for. */
export interface PermissionDiff {
  added: string[];
  removed: string[];
}

/** The grants added and removed from `previous` (undefined: a new install) to `next`. */
export function permissionDiff(
  previous: Pick<Manifest, "permissions" | "routes"> | undefined,
  next: Pick<Manifest, "permissions" | "routes">,
): PermissionDiff {
  const before = new Set(previous === undefined ? [] : grantsOf(previous));
  const after = grantsOf(next);
  return {
    added: after.filter((g) => !before.has(g)),
    removed: [...before].filter((g) => !after.includes(g)),
  };
}
