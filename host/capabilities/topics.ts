/**
 * Event topics and the manifest's topic patterns (docs/abi.md): dot-separated
 * segments; `*` matches one segment, a final `**` one or more.
 * @module
 */

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Topic prefixes only the host publishes (lower case; see `reservedRoot`). */
export const RESERVED_TOPIC_ROOTS: ReadonlySet<string> = new Set([
  "audit",
  "run",
  "plugin",
  "host",
  "log",
  "schedule",
  "server",
  "store",
  "trust",
  "policy",
  "token",
  "secret",
  "system",
  "delivery",
]);

/**
 * The reserved root `topic` starts with, or null. Case-insensitive: a
 * plugin's `Audit.denied` or `RUN.finished` would read as the host's own to a
 * person or a case-folding consumer, so it is refused like the real one.
 */
export function reservedRoot(topic: string): string | null {
  const root = topic.split(".")[0]!.toLowerCase();
  return RESERVED_TOPIC_ROOTS.has(root) ? root : null;
}

/** Longest topic (and event type), in bytes. */
export const MAX_TOPIC_BYTES = 200;

/**
 * The event type a plugin's publish of `topic` gets: `plugin.<id>.<topic>`.
 * Plugins publish short names; the host puts them in the publisher's own
 * namespace, so `plugin.<id>.**` is everything that plugin ever published.
 */
export function publishedType(pluginId: string, topic: string): string {
  return `plugin.${pluginId}.${topic}`;
}

/** Why `topic` is not a valid topic, or null when it is. */
export function topicProblem(topic: string): string | null {
  if (topic.length === 0 || topic.length > MAX_TOPIC_BYTES) return "must be 1 to 200 bytes";
  if (!topic.split(".").every((s) => SEGMENT.test(s))) {
    return "must be segments of ASCII letters, digits, '_' and '-' separated by single dots";
  }
  return null;
}

/** Whether `topic` matches `pattern`. */
export function topicMatches(pattern: string, topic: string): boolean {
  const p = pattern.split(".");
  const t = topic.split(".");
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg === "**" && i === p.length - 1) return t.length > i;
    if (i >= t.length) return false;
    if (seg !== "*" && seg !== t[i]) return false;
  }
  return p.length === t.length;
}
