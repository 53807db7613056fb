/**
 * Checking a manifest (and a call's limits) against the policy: every excess
 * named, and what is applied once clamped. Pure functions: the runtime, the
 * installers, `host policy check` and the capability provider call them.
 * @module
 */
import type { Manifest } from "../manifest/mod.ts";
import { defaultLimits, type Limits } from "../sandbox/limits.ts";
import { DEFAULT_KV_MAX_KEYS } from "../store/kv-limits.ts";
import { hostsCover } from "./host-pattern.ts";
import { covers } from "./match.ts";
import { lifecycleExcesses } from "./lifecycle.ts";
import { capsFor } from "./resolve.ts";
import { scheduleGaps, type ScheduleSpec } from "./schedule-gaps.ts";
import type { EffectiveCaps, Policy } from "./schema.ts";

/** One thing a manifest (or a call) asks for beyond the policy. */
export interface Excess {
  /** Where in the manifest, like `limits.memoryMaxPages` or `permissions.secrets`. */
  field: string;
  requested: string | number;
  allowed: string | number;
  /** What clamp mode does about it: lower it, drop the grant, or nothing (refused even in clamp mode). */
  clamp: "lowered" | "dropped" | "refused";
}

/** The outcome for one plugin. */
export interface PolicyReport {
  pluginId: string;
  mode: "refuse" | "clamp";
  /** True when nothing exceeds the policy. */
  fits: boolean;
  /** True when the plugin may load: it fits, or clamp mode can bring every excess within the policy. */
  admitted: boolean;
  excesses: Excess[];
  caps: EffectiveCaps;
}

/** The limits a manifest asks for, capped per plugin: the pure function the core's invoke uses too. */
export function capLimits(
  policy: Policy,
  pluginId: string,
  requested: Partial<Limits>,
): { applied: Partial<Limits>; excesses: Excess[] } {
  const caps = capsFor(policy, pluginId);
  const excesses: Excess[] = [];
  const cap = <K extends "memoryPages" | "timeoutMs" | "maxOutputBytes">(
    key: K,
    limit: number,
    field: string,
  ): number => {
    const asked = requested[key] ?? defaultLimits[key];
    if (requested[key] !== undefined && asked > limit) {
      excesses.push({ field, requested: asked, allowed: limit, clamp: "lowered" });
    }
    return Math.min(asked, limit);
  };
  const fuelAsked = requested.fuel ?? defaultLimits.fuel;
  const fuelCap = BigInt(caps.fuel);
  if (requested.fuel !== undefined && fuelAsked > fuelCap) {
    excesses.push({
      field: "limits.fuel",
      requested: Number(fuelAsked),
      allowed: caps.fuel,
      clamp: "lowered",
    });
  }
  const applied: Partial<Limits> = {
    ...requested,
    fuel: fuelAsked < fuelCap ? fuelAsked : fuelCap,
    memoryPages: cap("memoryPages", caps.memoryMaxPages, "limits.memoryMaxPages"),
    timeoutMs: cap("timeoutMs", caps.timeoutMs, "limits.timeoutMs"),
    maxOutputBytes: cap("maxOutputBytes", caps.maxOutputBytes, "limits.maxOutputBytes"),
  };
  return { applied, excesses };
}

/** Every excess of `manifest` under `policy`. */
export function checkManifest(policy: Policy, manifest: Manifest): PolicyReport {
  const caps = capsFor(policy, manifest.id);
  const excesses: Excess[] = [];
  const limits: Partial<Limits> = {};
  if (manifest.limits?.memoryMaxPages !== undefined) {
    limits.memoryPages = manifest.limits.memoryMaxPages;
  }
  if (manifest.limits?.timeoutMs !== undefined) limits.timeoutMs = manifest.limits.timeoutMs;
  excesses.push(...capLimits(policy, manifest.id, limits).excesses);
  excesses.push(...lifecycleExcesses(caps, manifest));
  const p = manifest.permissions ?? {};
  const list = (values: readonly string[]) => values.join(", ") || "(none)";
  for (const host of p.http?.allowedHosts ?? []) {
    if (!hostsCover(caps.httpHosts, host)) {
      excesses.push({
        field: "permissions.http.allowedHosts",
        requested: host,
        allowed: list(caps.httpHosts),
        clamp: "dropped",
      });
    }
  }
  const topics = (field: string, asked: readonly string[], allowed: string[]) => {
    for (const topic of asked) {
      if (!allowed.some((q) => covers(q, topic))) {
        excesses.push({ field, requested: topic, allowed: list(allowed), clamp: "dropped" });
      }
    }
  };
  topics("permissions.events.publish", p.events?.publish ?? [], caps.publish);
  topics("permissions.events.subscribe", p.events?.subscribe ?? [], caps.subscribe);
  for (const topic of manifest.hooks?.onEvent?.topics ?? []) {
    // A hook cannot be narrowed: its topics beyond the policy refuse the plugin in either mode.
    if (!caps.subscribe.some((q) => covers(q, topic))) {
      excesses.push({
        field: "hooks.onEvent.topics",
        requested: topic,
        allowed: list(caps.subscribe),
        clamp: "refused",
      });
    }
  }
  if (caps.secrets !== null) {
    for (const name of p.secrets ?? []) {
      if (!caps.secrets.includes(name)) {
        excesses.push({
          field: "permissions.secrets",
          requested: name,
          allowed: list(caps.secrets),
          clamp: "dropped",
        });
      }
    }
  }
  // Like a limit: an explicit maxKeys above the cap is an excess; the default is lowered silently.
  if (p.kv?.maxKeys !== undefined && p.kv.maxKeys > caps.kvMaxKeys) {
    excesses.push({
      field: "permissions.kv.maxKeys",
      requested: p.kv.maxKeys,
      allowed: caps.kvMaxKeys,
      clamp: "lowered",
    });
  }
  // An injected secret is a grant like a read one: the operator's secrets list must allow it.
  for (const [host, injection] of Object.entries(p.http?.inject ?? {})) {
    if (caps.secrets !== null && !caps.secrets.includes(injection.secret)) {
      excesses.push({
        field: `permissions.http.inject["${host}"].secret`,
        requested: injection.secret,
        allowed: list(caps.secrets),
        clamp: "dropped",
      });
    }
  }
  excesses.push(...scheduleExcesses(manifest.schedules ?? [], caps.minScheduleIntervalSeconds));
  const fits = excesses.length === 0;
  const admitted = fits || (caps.mode === "clamp" && excesses.every((e) => e.clamp !== "refused"));
  return { pluginId: manifest.id, mode: caps.mode, fits, admitted, excesses, caps };
}

/** The report as lines of text, one per excess. */
export function describeExcesses(report: PolicyReport): string {
  return report.excesses.map((e) =>
    `${e.field}: asks ${e.requested}, the policy allows ${e.allowed}${
      report.mode === "clamp" && e.clamp !== "refused" ? ` (${e.clamp})` : ""
    }`
  ).join("; ");
}

/**
 * The manifest's permissions without the grants clamp mode drops (hosts,
 * topics and secrets beyond the policy), and with `kv.maxKeys` (or its
 * default) lowered to the cap: what the capability host functions and the KV
 * store enforce at run time.
 */
export function clampPermissions(
  caps: EffectiveCaps,
  permissions: Manifest["permissions"],
): Manifest["permissions"] {
  if (permissions === undefined) return permissions;
  const hosts = permissions.http?.allowedHosts.filter((h) => hostsCover(caps.httpHosts, h));
  const publish = permissions.events?.publish?.filter((t) =>
    caps.publish.some((q) => covers(q, t))
  );
  const subscribe = permissions.events?.subscribe?.filter((t) =>
    caps.subscribe.some((q) => covers(q, t))
  );
  const secrets = caps.secrets === null
    ? permissions.secrets
    : permissions.secrets?.filter((n) => caps.secrets?.includes(n));
  // Injections survive only for a kept host and a secret the policy allows.
  const inject = permissions.http?.inject === undefined ? undefined : Object.fromEntries(
    Object.entries(permissions.http.inject).filter(([host, i]) =>
      hosts?.includes(host) && (caps.secrets === null || caps.secrets.includes(i.secret))
    ),
  );
  return {
    ...permissions,
    ...(permissions.http && hosts
      ? { http: { allowedHosts: hosts, ...(inject ? { inject } : {}) } }
      : {}),
    ...(permissions.events
      ? {
        events: {
          ...(publish ? { publish } : {}),
          ...(subscribe ? { subscribe } : {}),
        },
      }
      : {}),
    ...(secrets ? { secrets } : {}),
    ...(permissions.kv
      ? {
        kv: {
          ...permissions.kv,
          maxKeys: Math.min(permissions.kv.maxKeys ?? DEFAULT_KV_MAX_KEYS, caps.kvMaxKeys),
        },
      }
      : {}),
  };
}

/**
 * The schedules that fire closer together than `min` seconds: each alone,
 * then (when each alone is far enough apart) the closest two of different
 * schedules (schedule-gaps.ts). Nothing to check without a minimum (the
 * built-in policy).
 */
function scheduleExcesses(schedules: readonly ScheduleSpec[], min: number): Excess[] {
  if (schedules.length === 0 || min <= 0) return [];
  const allowed = `at least ${min} s apart`;
  const { own, together } = scheduleGaps(schedules, min);
  const excesses: Excess[] = [];
  own.forEach((gap, i) => {
    if (gap !== null && gap.seconds < min) {
      excesses.push({
        field: `schedules[${i}].cron`,
        requested: `${schedules[i]!.cron} (every ${gap.seconds} s)`,
        allowed,
        clamp: "refused",
      });
    }
  });
  if (excesses.length === 0 && together !== null && together.seconds < min) {
    const [a, b] = [schedules[together.first]!, schedules[together.second]!];
    const when = together.at.toISOString();
    excesses.push({
      field: "schedules",
      requested: together.seconds === 0
        ? `'${a.name}' and '${b.name}' together: both due at ${when}`
        : `'${a.name}' and '${b.name}' together: ${together.seconds} s apart (at ${when})`,
      allowed: `${allowed}, all schedules together`,
      clamp: "refused",
    });
  }
  return excesses;
}
