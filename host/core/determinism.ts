/**
 * Determinism modes (docs/replay.md). A capability runs `strict` or
 * `best-effort`: the operator policy's override wins, then the capability's
 * manifest `determinism`, else strict when the plugin asks for no outside
 * effects (no http, invoke, secrets, wasi) and best-effort when it does.
 * Strict: host calls with outside effects are refused (`nondeterministic`)
 * and the WASI clock and random are pinned from the run's seed by the sandbox
 * (host/sandbox/entropy.ts). Best-effort: they run, the answers are on the
 * run's tape, and WASI's clock and random are the runtime's own.
 * @module
 */
import type { Manifest } from "../manifest/mod.ts";

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
 * The entropy sources a run of `mode` can see outside the tape: in a
 * best-effort run WASI's real clock and random (Extism's kernel has neither,
 * and the host ABI has no clock); a strict run sees them pinned to its seed,
 * which is not entropy.
 */
export function visibleEntropy(manifest: Manifest, mode: Determinism): string[] {
  return manifest.permissions?.wasi && mode === "best-effort" ? ["wasi.clock", "wasi.random"] : [];
}

/** The entropy sources a run used: the unpinned ones it could see, and its host calls' outside answers. */
export function usedEntropy(
  manifest: Manifest,
  mode: Determinism,
  tapeFns: Iterable<string>,
): string[] {
  const used = new Set(visibleEntropy(manifest, mode));
  for (const fn of tapeFns) {
    if (fn === "http_request") used.add("http");
    else if (fn === "invoke") used.add("invoke");
    else if (fn === "secret_get") used.add("secret");
    else if (fn === "kv_get" || fn === "kv_list") used.add("kv");
  }
  return [...used].sort();
}
