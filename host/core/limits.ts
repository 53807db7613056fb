/**
 * Where a run's limits come from, resolved once per run: the plugin's own
 * (its manifest's requests, capped by policy when it loaded), the caller's
 * per-call request, and the operator's caps. The result is what the sandbox
 * applies and what the RunRecord records. An operator policy (host/policy)
 * plugs in here, as `policy`.
 * @module
 */
import { applyPolicy, type Limits } from "../sandbox/mod.ts";
import type { CallLimits } from "./types.ts";

/**
 * The limits of one run. Memory stays the plugin's (fixed at compile time);
 * the rest is the request over the plugin's limits, capped by `policy`.
 * Throws (zod) on a malformed request.
 */
export function resolveLimits(
  plugin: Readonly<Limits>,
  request: CallLimits | undefined,
  policy: Readonly<Limits>,
): Limits {
  const resolved = applyPolicy(request, policy, plugin);
  resolved.memoryPages = plugin.memoryPages;
  return resolved;
}

/** The limits as a RunRecord stores them (numbers by name). */
export function recordedLimits(limits: Readonly<Limits>): Record<string, number> {
  return {
    fuel: Number(limits.fuel),
    memoryPages: limits.memoryPages,
    timeoutMs: limits.timeoutMs,
    maxOutputBytes: limits.maxOutputBytes,
    maxInputBytes: limits.maxInputBytes,
  };
}
