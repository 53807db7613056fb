/**
 * Redaction of secret values from what a plugin hands the host to keep or
 * pass on (event payloads, log lines, KV values, outputs, error messages):
 * every occurrence of a known value becomes `[redacted]`. It guards against a
 * plugin that leaks a value as is; a plugin that transforms it first (splits,
 * encodes, reverses) is not caught: docs/security.md, "Secrets".
 * @module
 */
import type { CapabilityContext } from "./context.ts";
import type { ActiveRun } from "./runs.ts";

/** What a secret value is replaced with. */
export const REDACTED = "[redacted]";

/** The values, longest first (a value inside another is then never left half-replaced). */
export function redactionList(values: Iterable<string>): string[] {
  return [...new Set(values)].filter((v) => v.length > 0).sort((a, b) => b.length - a.length);
}

/** `text` with every value of `values` replaced. */
export function redactText(text: string, values: readonly string[]): string {
  let out = text;
  for (const value of values) {
    if (out.includes(value)) out = out.split(value).join(REDACTED);
  }
  return out;
}

/** Whether `text` holds any of `values`. */
export function holdsSecret(text: string, values: readonly string[]): boolean {
  return values.some((v) => text.includes(v));
}

/** A JSON value with every string (object keys included) redacted; the same value when clean. */
export function redactJson(value: unknown, values: readonly string[]): unknown {
  if (values.length === 0) return value;
  if (typeof value === "string") return redactText(value, values);
  if (Array.isArray(value)) return value.map((v) => redactJson(v, values));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [redactText(k, values), redactJson(v, values)]),
    );
  }
  return value;
}

const encoder = new TextEncoder();

/**
 * `bytes` (an output or input, usually UTF-8 JSON) with each value replaced,
 * both as raw UTF-8 and as the escaped text of a JSON string (`"` and `\`
 * escaped, control characters as `\uXXXX`). The same array when nothing matched.
 */
export function redactBytes(bytes: Uint8Array, values: readonly string[]): Uint8Array {
  let out = bytes;
  for (const value of values) {
    for (const form of new Set([value, JSON.stringify(value).slice(1, -1)])) {
      out = replaceAll(out, encoder.encode(form), encoder.encode(REDACTED));
    }
  }
  return out;
}

function replaceAll(haystack: Uint8Array, needle: Uint8Array, by: Uint8Array): Uint8Array {
  let at = indexOf(haystack, needle, 0);
  if (at < 0) return haystack;
  const parts: Uint8Array[] = [];
  let from = 0;
  while (at >= 0) {
    parts.push(haystack.subarray(from, at), by);
    from = at + needle.length;
    at = indexOf(haystack, needle, from);
  }
  parts.push(haystack.subarray(from));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  outer: for (let i = haystack.indexOf(first!, from); i >= 0; i = haystack.indexOf(first!, i + 1)) {
    if (i + needle.length > haystack.length) return -1;
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Every secret value the host knows for `pluginId`: those `runs` read, plus
 * the current value of each name granted to the plugin (`permissions.secrets`
 * and `permissions.http.inject`), looked up through the (cached) provider.
 * A value the provider cannot give (unset, unreadable) is skipped: the plugin
 * cannot have read it either.
 */
export function knownSecrets(
  ctx: CapabilityContext,
  pluginId: string,
  runs: Iterable<ActiveRun> = [],
): string[] {
  const values: string[] = [];
  for (const run of runs) values.push(...run.secrets);
  for (const name of ctx.secretNames.get(pluginId) ?? []) {
    try {
      const value = ctx.secrets.get(name, pluginId);
      if (value !== undefined) values.push(value);
    } catch {
      // A provider failure leaves nothing to redact for that name.
    }
  }
  return redactionList(values);
}
