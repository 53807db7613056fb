/**
 * One plugin's effective caps: the built-in caps, overridden by the policy's
 * `defaults`, then by each `plugins` section whose pattern matches the id,
 * from the least to the most specific (an exact id last).
 * @module
 */
import { builtinCaps } from "./defaults.ts";
import { globMatches, specificity } from "./match.ts";
import type { Caps, EffectiveCaps, Policy } from "./schema.ts";

/** The caps in force for `pluginId` under `policy`. */
export function capsFor(policy: Policy, pluginId: string): EffectiveCaps {
  const caps: EffectiveCaps = structuredClone(builtinCaps) as EffectiveCaps;
  apply(caps, policy.defaults);
  const sections = Object.entries(policy.plugins ?? {})
    .map(([pattern, section], order) => ({ pattern, section, order }))
    .filter((s) => globMatches(s.pattern, pluginId))
    .sort((a, b) => specificity(a.pattern) - specificity(b.pattern) || a.order - b.order);
  for (const { section } of sections) apply(caps, section);
  return caps;
}

function apply(caps: EffectiveCaps, section: Caps | undefined): void {
  if (section === undefined) return;
  if (section.mode !== undefined) caps.mode = section.mode;
  if (section.memoryMaxPages !== undefined) caps.memoryMaxPages = section.memoryMaxPages;
  if (section.fuel !== undefined) caps.fuel = section.fuel;
  if (section.timeoutMs !== undefined) caps.timeoutMs = section.timeoutMs;
  if (section.maxOutputBytes !== undefined) caps.maxOutputBytes = section.maxOutputBytes;
  if (section.http?.hosts !== undefined) caps.httpHosts = section.http.hosts;
  if (section.http?.allowNetworks !== undefined) caps.allowNetworks = section.http.allowNetworks;
  if (section.topics?.publish !== undefined) caps.publish = section.topics.publish;
  if (section.topics?.subscribe !== undefined) caps.subscribe = section.topics.subscribe;
  if (section.secrets !== undefined) caps.secrets = section.secrets;
  if (section.kvMaxKeys !== undefined) caps.kvMaxKeys = section.kvMaxKeys;
  if (section.determinism !== undefined) caps.determinism = section.determinism;
  if (section.minScheduleIntervalSeconds !== undefined) {
    caps.minScheduleIntervalSeconds = section.minScheduleIntervalSeconds;
  }
  if (section.hookTimeoutMs !== undefined) caps.hookTimeoutMs = section.hookTimeoutMs;
  caps.breaker = { ...caps.breaker, ...stripUndefined(section.breaker ?? {}) };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<
    T
  >;
}
