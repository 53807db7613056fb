/**
 * The built-in policy, in force when no policy file exists: generous enough
 * for real plugins, closed where containment matters (no private networks,
 * bounded memory, time and output).
 * @module
 */
import type { EffectiveCaps } from "./schema.ts";

/** Built-in caps (docs/policy.md, "Defaults"). */
export const builtinCaps: Readonly<EffectiveCaps> = Object.freeze({
  mode: "refuse",
  memoryMaxPages: 4096,
  fuel: 10_000_000_000,
  timeoutMs: 60_000,
  maxOutputBytes: 16 * 1024 * 1024,
  httpHosts: ["*:*"],
  allowNetworks: [],
  publish: ["**"],
  subscribe: ["**"],
  secrets: null,
  // The manifest schema's own maximum: without a policy, permissions.kv.maxKeys applies as asked.
  kvMaxKeys: 100_000,
  // No minimum: a cron's own resolution is a second, and schedules due together are allowed.
  minScheduleIntervalSeconds: 0,
  hookTimeoutMs: 30_000,
  breaker: Object.freeze({
    failures: 5,
    windowMs: 60_000,
    errorRate: 0.5,
    minCalls: 10,
    coolDownMs: 30_000,
  }),
  determinism: null,
});
