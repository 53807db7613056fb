/**
 * The policy's say over a plugin's lifecycle: how long its onLoad and
 * onShutdown hooks may run and how its circuit breaker trips. The policy's
 * value is both the default and the most a manifest may ask: a plugin may be
 * stricter with itself (trip sooner, come back sooner), never laxer.
 * @module
 */
import { DEFAULT_HOOK_TIMEOUT_MS, type LifecycleSettings } from "../lifecycle/mod.ts";
import type { Manifest } from "../manifest/mod.ts";
import { capsFor } from "./resolve.ts";
import type { EffectiveCaps, Policy } from "./schema.ts";

/** An excess clamp mode lowers (the shape of check.ts's Excess, which imports this module). */
export interface LoweredExcess {
  field: string;
  requested: number;
  allowed: number;
  clamp: "lowered";
}

const breakerFields = ["failures", "windowMs", "errorRate", "minCalls", "coolDownMs"] as const;

/** The lifecycle settings of each plugin under `policy` (its manifest's asks, capped). */
export function lifecycleSettings(
  policy: Policy = { schemaVersion: 1 },
): (manifest: Manifest) => LifecycleSettings {
  return (manifest) => settingsFor(capsFor(policy, manifest.id), manifest);
}

/** A manifest's lifecycle settings under `caps`. */
export function settingsFor(caps: EffectiveCaps, manifest: Manifest): LifecycleSettings {
  const asked = manifest.limits?.breaker ?? {};
  const breaker = { ...caps.breaker };
  for (const field of breakerFields) {
    const value = asked[field];
    if (value !== undefined) breaker[field] = Math.min(value, caps.breaker[field]);
  }
  return {
    hookTimeoutMs: Math.min(
      manifest.hooks?.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS,
      caps.hookTimeoutMs,
    ),
    breaker: { ...breaker, recovery: asked.recovery ?? "retry" },
  };
}

/** What a manifest's hooks.timeoutMs and limits.breaker ask beyond `caps` (clamp lowers them). */
export function lifecycleExcesses(caps: EffectiveCaps, manifest: Manifest): LoweredExcess[] {
  const excesses: LoweredExcess[] = [];
  const timeout = manifest.hooks?.timeoutMs;
  if (timeout !== undefined && timeout > caps.hookTimeoutMs) {
    excesses.push({
      field: "hooks.timeoutMs",
      requested: timeout,
      allowed: caps.hookTimeoutMs,
      clamp: "lowered",
    });
  }
  const asked = manifest.limits?.breaker ?? {};
  for (const field of breakerFields) {
    const value = asked[field];
    if (value !== undefined && value > caps.breaker[field]) {
      excesses.push({
        field: `limits.breaker.${field}`,
        requested: value,
        allowed: caps.breaker[field],
        clamp: "lowered",
      });
    }
  }
  return excesses;
}
