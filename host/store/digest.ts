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
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`Cannot write ${typeof value} as JSON`);
    return text;
  }
  if (Array.isArray(value)) {
    return "[" + value.map((item) => item === undefined ? "null" : canonicalJson(item)).join(",") +
      "]";
  }
  const record = value as Record<string, unknown>;
  const members = Object.keys(record).sort()
    .filter((key) => record[key] !== undefined)
    .map((key) => JSON.stringify(key) + ":" + canonicalJson(record[key]));
  return "{" + members.join(",") + "}";
}

/** The fingerprint of an effective config: `sha256:` of its canonical JSON. */
export function configFingerprint(config: unknown): string {
  return sha256Id(canonicalJson(config));
}
