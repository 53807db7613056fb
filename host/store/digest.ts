/**
 * The config fingerprint the store records: SHA-256 of canonical JSON,
 * written as `sha256:<hex>` (the digest itself is artifact/digest.ts's).
 * @module
 */
import { sha256Id } from "../artifact/mod.ts";

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace,
 * `undefined` members dropped, as JSON.stringify writes numbers and strings.
 * Two configs that mean the same produce the same text.
 */
export function canonicalJson(value: unknown): string {
  // Written with loops, not sort/filter/map/join chains: every run takes the fingerprint of its
  // config and limits, and the chains' arrays were ~4 KB of garbage a run (a heap profile of
  // 20,000 calls).
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "object":
      if (value === null) return "null";
      break;
    default:
      throw new TypeError(`Cannot write ${typeof value} as JSON`);
  }
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out += (i === 0 ? "" : ",") + (item === undefined ? "null" : canonicalJson(item));
    }
    return out + "]";
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length > 16) keys.sort();
  else sortFew(keys);
  let out = "{";
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    out += (first ? "" : ",") + JSON.stringify(key) + ":" + canonicalJson(member);
    first = false;
  }
  return out + "}";
}

/**
 * Sorts a few strings in place by UTF-16 code units (as `Array.prototype.sort` does with no
 * comparator), without the copy V8's sort makes.
 */
function sortFew(keys: string[]): void {
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > key; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = key;
  }
}

/** The fingerprint of an effective config: `sha256:` of its canonical JSON. */
export function configFingerprint(config: unknown): string {
  return sha256Id(canonicalJson(config));
}
