/**
 * Determinism modes (docs/replay.md). A capability runs `strict` or
 * `best-effort`: the operator policy's override wins, then the capability's
 * manifest `determinism`, else strict when the plugin asks for no outside
 * effects (no http, invoke, secrets, wasi) and best-effort when it does.
 * Strict: host calls with outside effects are refused (`nondeterministic`)
 * and no unpinned entropy is visible. Best-effort: they run, and the answers
 * are on the run's tape.
 * @module
 */
import type { Manifest } from "../manifest/mod.ts";
import { HostError } from "../errors.ts";

/** A run's determinism mode. */
export type Determinism = "strict" | "best-effort";

/** The permissions with outside effects a manifest asks for, by name. */
export function outsideEffects(manifest: Manifest): string[] {
  const p = manifest.permissions ?? {};
  const asked: string[] = [];
  if ((p.http?.allowedHosts.length ?? 0) > 0) asked.push("http");
  if ((p.invoke?.length ?? 0) > 0) asked.push("invoke");
  if ((p.secrets?.length ?? 0) > 0) asked.push("secrets");
  if (p.wasi) asked.push("wasi");
  return asked;
}

/** The mode a run of `capability` (null: an export called directly) gets. */
export function determinismOf(
  manifest: Manifest,
  capability: string | null,
  override: Determinism | undefined,
): Determinism {
  if (override) return override;
  const declared = capability === null ? undefined : manifest.capabilities[capability]?.determinism;
  return declared ?? (outsideEffects(manifest).length === 0 ? "strict" : "best-effort");
}

/**
 * The entropy sources a plugin can see outside the tape: WASI's clock and
 * random (Extism's kernel has neither, and the host ABI has no clock).
 */
export function visibleEntropy(manifest: Manifest): string[] {
  return manifest.permissions?.wasi ? ["wasi.clock", "wasi.random"] : [];
}

/**
 * Refuses a strict run whose plugin sees entropy the host cannot pin: WASI's
 * clock and random come from the runtime's WASI, which the host does not
 * intercept yet (docs/replay.md, "Limits").
 */
export function checkStrict(manifest: Manifest, mode: Determinism, name: string): void {
  if (mode !== "strict") return;
  const unpinned = visibleEntropy(manifest);
  if (unpinned.length === 0) return;
  throw new HostError(
    "nondeterministic",
    `Strict determinism is refused for ${manifest.id}/${name}: the plugin sees ${
      unpinned.join(" and ")
    } through WASI, which this host cannot pin yet; declare "determinism": "best-effort"`,
  );
}

/** The entropy sources a run used, from its tape: the host calls with outside answers. */
export function usedEntropy(manifest: Manifest, tapeFns: Iterable<string>): string[] {
  const used = new Set(visibleEntropy(manifest));
  for (const fn of tapeFns) {
    if (fn === "http_request") used.add("http");
    else if (fn === "invoke") used.add("invoke");
    else if (fn === "secret_get") used.add("secret");
    else if (fn === "kv_get" || fn === "kv_list") used.add("kv");
  }
  return [...used].sort();
}
