/**
 * jsonShapeProblem (json-shape.ts) against what JSON.stringify writes (never
 * a duplicate key) and the same texts with one key repeated or nested past
 * the limit.
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonShapeProblem, MAX_JSON_DEPTH } from "./json-shape.ts";

const check = (text: string) => jsonShapeProblem(text, JSON.parse(text));

describe("jsonShapeProblem", () => {
  it("finds nothing wrong in any JSON that JSON.stringify writes", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(check(JSON.stringify(value))).toBeUndefined();
        expect(check(JSON.stringify(value, null, 2))).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it("finds a key given twice in any object, at any depth, escaped spellings included", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }),
        fc.nat(3),
        (object, depth) => {
          const key = Object.keys(object)[0]!;
          const inner = JSON.stringify(object);
          // The same key again, at the end of the object.
          let text = `${inner.slice(0, -1)},${JSON.stringify(key)}:0}`;
          for (let i = 0; i < depth; i++) text = `{"wrap":[${text}]}`;
          expect(check(text)).toContain("same key twice");
        },
      ),
      { numRuns: 300 },
    );
    expect(check('{"a":1,"\\u0061":2}')).toContain("same key twice");
    expect(check('{"__proto__":1,"__proto__":2}')).toContain("same key twice");
    expect(check('[{"a":1},{"a":1}]')).toBeUndefined();
    expect(check('{"a":"x\\":\\"y","b":":"}')).toBeUndefined();
  });

  it("refuses nesting past the limit, and only past it", () => {
    const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
    expect(check(nested(MAX_JSON_DEPTH))).toBeUndefined();
    expect(check(nested(MAX_JSON_DEPTH + 1))).toContain(`${MAX_JSON_DEPTH + 1} levels deep`);
    expect(check(`{"s":"${"[".repeat(1000)}"}`)).toBeUndefined(); // brackets inside a string
  });
});
