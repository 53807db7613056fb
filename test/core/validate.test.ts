import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileChecked, compileJsonSchema } from "../../host/core/validate.ts";
import { AJV_OPTIONS, jsonSchemaProblem } from "../../host/manifest/mod.ts";
import { SCHEMA_META_PATH, schemaMetaSource } from "../../scripts/schema-meta-source.ts";

const root = join(import.meta.dirname ?? ".", "..", "..");
// ajv checking schemas itself, as the host did before the meta-schema was compiled ahead of time.
const reference = {
  compile: (s: Record<string, unknown>) =>
    new Ajv2020({ ...AJV_OPTIONS, validateSchema: true }).compile(s),
};

/** "ok", or the refusal's message with each of ajv's problems once (the host says each once). */
function verdict(compile: () => unknown): string {
  try {
    compile();
    return "ok";
  } catch (error) {
    const message = (error as Error).message;
    const prefix = "schema is invalid: ";
    if (!message.startsWith(prefix)) return message;
    return prefix + [...new Set(message.slice(prefix.length).split(/, (?=data)/))].join(", ");
  }
}

const keywords = [
  "type",
  "properties",
  "required",
  "items",
  "prefixItems",
  "minLength",
  "maxItems",
  "anyOf",
  "enum",
  "const",
  "additionalProperties",
  "uniqueItems",
  "pattern",
  "$defs",
  "not",
  "title",
  "x-custom",
];
const value = fc.oneof(
  fc.constantFrom("string", "object", "integer", "strin", "^a+$", "name"),
  fc.integer({ min: -2, max: 3 }),
  fc.double({ min: -1, max: 2, noNaN: true }),
  fc.boolean(),
  fc.constant(null),
);
const schema: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ node: Record<string, unknown> }>(
  (tie) => ({
    node: fc.dictionary(
      fc.constantFrom(...keywords),
      fc.oneof(
        { depthSize: "small" },
        value,
        fc.array(value, { maxLength: 3 }),
        tie("node"),
        fc.array(tie("node"), { maxLength: 2 }),
        fc.dictionary(fc.constantFrom("a", "b"), tie("node"), {
          maxKeys: 2,
          noNullPrototype: true,
        }),
      ),
      // Schemas come from JSON.parse: plain objects only.
      { maxKeys: 4, noNullPrototype: true },
    ),
  }),
).node;

describe("JSON Schema checks", () => {
  it("use a meta-schema check that is current (node scripts/run-ts.mjs scripts/gen-schema-meta.ts)", () => {
    const committed = readFileSync(join(root, SCHEMA_META_PATH), "utf8");
    expect(committed === schemaMetaSource()).toBe(true);
  });

  it("refuse a schema exactly when ajv's own meta-schema check does, in its words", () => {
    const known = [
      { type: "object", required: ["name"], properties: { name: { type: "string" } } },
      { properties: { a: 5 } },
      { minLength: -1 },
      { maxItems: 1.5 },
      { anyOf: [] },
      { type: ["string", "string"] },
      { enum: 3 },
      { pattern: "(" },
      { $ref: "#/nope" },
      { $id: "https://example.com/a", $ref: "#/$defs/x", $defs: { x: { type: "string" } } },
      { $schema: "https://json-schema.org/draft/2020-12/schema", type: "string" },
      { "x-custom": { anything: true } },
    ];
    for (const s of known) {
      expect(verdict(() => compileChecked(AJV_OPTIONS, s))).toBe(
        verdict(() => reference.compile(s)),
      );
    }
    // Another draft: ajv's Ajv2020 does not know it ("no schema with key or ref"); refused too.
    for (const $schema of ["http://json-schema.org/draft-07/schema#", "urn:x"]) {
      expect(verdict(() => reference.compile({ $schema }))).not.toBe("ok");
      expect(verdict(() => compileChecked(AJV_OPTIONS, { $schema }))).toMatch(
        /data\/\$schema is .*: the host checks JSON Schema 2020-12 only/,
      );
    }
    fc.assert(
      fc.property(schema, (s) => {
        expect(verdict(() => compileChecked(AJV_OPTIONS, s))).toBe(
          verdict(() => reference.compile(s)),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("say a schema nested too deeply to check is not valid, without throwing", () => {
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 20_000; i++) deep = { properties: { a: deep } };
    expect(jsonSchemaProblem(deep)).toMatch(/^it cannot be checked \(.*call stack/);
  });

  it("keep each schema's $id to itself: no plugin can claim or reach another's", () => {
    const id = "https://example.com/schemas/name";
    const first = compileJsonSchema({ $id: id, type: "string" });
    const second = compileJsonSchema({ $id: id, type: "number" }); // in a shared ajv: "already exists"
    expect(first("a")).toEqual([]);
    expect(second(1)).toEqual([]);
    expect(second("a")).toHaveLength(1);
    expect(() => compileJsonSchema({ $ref: id })).toThrow(
      expect.objectContaining({ code: "invalid_manifest", message: expect.stringContaining(id) }),
    );
  });

  it("name what is wrong in a manifest's schema", () => {
    expect(() => compileJsonSchema({ properties: { name: 5 } })).toThrow(
      expect.objectContaining({
        code: "invalid_manifest",
        message: expect.stringContaining("data/properties/name must be object,boolean"),
      }),
    );
    expect(compileJsonSchema({ type: "object", required: ["n"] })({})).toEqual([
      { path: "/n", message: "must have required property 'n'" },
    ]);
  });
});
