/**
 * Canonical JSON (host/store/digest.ts), which config fingerprints and golden
 * record hashes are taken of: keys sorted by UTF-16 code units, no whitespace,
 * `undefined` members dropped (`null` in arrays), values as JSON.stringify
 * writes them. A fingerprint recorded by an earlier version must come out the
 * same, so the text is checked against a plain reference on random values.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../host/store/mod.ts";

/** The definition, written the plain way: sort, drop undefined, stringify. */
function reference(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value)!;
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? "null" : reference(v))).join(",")}]`;
  }
  const record = value as Record<string, unknown>;
  const members = Object.keys(record).sort().filter((k) => record[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${reference(record[k])}`);
  return `{${members.join(",")}}`;
}

describe("canonicalJson", () => {
  it("sorts keys, drops undefined members, writes nulls for undefined items", () => {
    expect(canonicalJson({ b: 1, a: [undefined, { d: undefined, c: "x" }], e: undefined })).toBe(
      '{"a":[null,{"c":"x"}],"b":1}',
    );
    expect(canonicalJson({})).toBe("{}");
    expect(canonicalJson([])).toBe("[]");
    expect(canonicalJson({ "é": 1, "z": 2, "Z": 3 })).toBe('{"Z":3,"z":2,"é":1}');
  });

  it("matches the plain definition on random JSON-like values", () => {
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null)),
      node: fc.oneof(
        { depthSize: "small" },
        tie("leaf"),
        fc.array(fc.oneof(tie("node"), fc.constant(undefined)), { maxLength: 5 }),
        fc.dictionary(fc.string(), fc.oneof(tie("node"), fc.constant(undefined)), {
          maxKeys: 5,
        }),
      ),
    })).node;
    fc.assert(fc.property(value, (v) => canonicalJson(v) === reference(v)), { numRuns: 500 });
  });

  it("refuses what is not JSON", () => {
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/Cannot write function as JSON/);
    expect(() => canonicalJson(10n)).toThrow();
  });
});
