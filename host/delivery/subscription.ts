/**
 * What a loaded plugin subscribes to: its manifest's `hooks.onEvent` (export,
 * topic patterns, priority, TTL) narrowed by `permissions.events.subscribe`.
 * An event is due to a subscriber when its type matches one of the hook's
 * topics AND one of the granted patterns: a hook topic no grant covers is
 * never delivered (the dispatcher says so with a `delivery.topics_denied` warning).
 * @module
 */
import { topicMatches } from "../capabilities/topics.ts";
import type { PluginInfo } from "../core/mod.ts";

/** A subscriber as the dispatcher serves it. */
export interface Subscriber {
  pluginId: string;
  /** The export called with each event (trigger `event`). */
  export: string;
  /** The hook's topic patterns. */
  topics: string[];
  /** The manifest's `permissions.events.subscribe` patterns. */
  granted: string[];
  /** Higher first when several subscribers are due (default 0; ties by plugin id). */
  priority: number;
  /** Events older than this when due are skipped (undefined: never). */
  ttlMs: number | undefined;
  /** Hook topics no grant covers (reported once per load). */
  denied: string[];
  /** Type prefixes that can match (a cheap filter the store applies before exact matching). */
  prefixes: string[];
}

/** The subscriber a loaded plugin is, or undefined when it has no onEvent hook. */
export function subscriberOf(info: PluginInfo): Subscriber | undefined {
  const hook = info.manifest.hooks?.onEvent;
  if (hook === undefined) return undefined;
  const granted = info.manifest.permissions?.events?.subscribe ?? [];
  const allowed = hook.topics.filter((t) => granted.some((g) => covers(g, t)));
  return {
    pluginId: info.id,
    export: hook.export,
    topics: hook.topics,
    granted,
    priority: hook.priority ?? 0,
    ttlMs: hook.ttlMs,
    denied: hook.topics.filter((t) => !allowed.includes(t)),
    // Only topics some grant overlaps can ever be due; a partly granted pattern still filters
    // exactly at delivery, so its prefix is kept.
    prefixes: hook.topics.filter((t) => granted.some((g) => overlaps(g, t))).map(literalPrefix),
  };
}

/** Whether an event of type `topic` is due to `sub`. */
export function isDue(sub: Subscriber, topic: string): boolean {
  return sub.topics.some((t) => topicMatches(t, topic)) &&
    sub.granted.some((g) => topicMatches(g, topic));
}

/** Subscribers in the order they are served: higher priority first, ties by plugin id. */
export function byPriority<T extends Pick<Subscriber, "priority" | "pluginId">>(subs: T[]): T[] {
  return [...subs].sort((a, b) =>
    b.priority - a.priority || (a.pluginId < b.pluginId ? -1 : a.pluginId > b.pluginId ? 1 : 0)
  );
}

/**
 * Whether pattern `grant` matches every topic pattern `topic` matches: each
 * segment equal, or `*` in the grant, or a final `**` in the grant.
 */
export function covers(grant: string, topic: string): boolean {
  const g = grant.split(".");
  const t = topic.split(".");
  for (let i = 0; i < g.length; i++) {
    const seg = g[i]!;
    if (seg === "**" && i === g.length - 1) return t.length > i;
    if (i >= t.length) return false;
    if (t[i] === "**") return false;
    if (seg !== "*" && seg !== t[i]) return false;
  }
  return g.length === t.length;
}

/** Whether some topic matches both patterns. */
export function overlaps(a: string, b: string): boolean {
  const x = a.split(".");
  const y = b.split(".");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    const pRest = p === "**" && i === x.length - 1;
    const qRest = q === "**" && i === y.length - 1;
    if (pRest || qRest) return p !== undefined && q !== undefined;
    if (p === undefined || q === undefined) return false;
    if (p !== "*" && q !== "*" && p !== q) return false;
  }
  return true;
}

/** The literal start of a pattern, up to its first wildcard (`run.*` -> `run.`). */
function literalPrefix(pattern: string): string {
  const segments = pattern.split(".");
  const literal: string[] = [];
  for (const s of segments) {
    if (s === "*" || s === "**") return literal.length === 0 ? "" : literal.join(".") + ".";
    literal.push(s);
  }
  return pattern;
}
