import fc from "fast-check";
import semver from "semver";
import { describe, expect, it } from "vitest";
import {
  type Candidate,
  dependencyOrder,
  describeFailure,
  resolveDependencies,
  unmetDependencies,
} from "../../host/deps/mod.ts";
import { parseManifest } from "../../host/manifest/parse.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";

type Spec = Record<string, string | { range: string; optional?: boolean }>;

/** A catalog from `{ "id@version": deps }`. */
function catalog(entries: Record<string, Spec>): Map<string, Candidate<null>[]> {
  const map = new Map<string, Candidate<null>[]>();
  for (const [key, deps] of Object.entries(entries)) {
    const [id, version] = key.split("@") as [string, string];
    const dependencies = Object.entries(deps).map(([d, s]) =>
      typeof s === "string"
        ? { id: d, range: s, optional: false }
        : { id: d, range: s.range, optional: s.optional ?? false }
    );
    map.set(id, [...(map.get(id) ?? []), { id, version, dependencies, data: null }]);
  }
  return map;
}

const ask = (id: string, range = "*") => [{ id, range, by: "(request)" }];
const versions = (r: ReturnType<typeof resolveDependencies>) =>
  r.ok ? r.plugins.map((p) => `${p.candidate.id}@${p.candidate.version}`) : r.failure;

describe("resolveDependencies", () => {
  it("caret and tilde ranges pick the highest matching version", () => {
    const c = catalog({
      "a@1.0.0": { b: "^1.2.0", c: "~2.1.0" },
      "b@1.1.0": {},
      "b@1.4.2": {},
      "b@2.0.0": {},
      "c@2.1.0": {},
      "c@2.1.9": {},
      "c@2.2.0": {},
    });
    expect(versions(resolveDependencies(ask("a"), c))).toEqual(["b@1.4.2", "c@2.1.9", "a@1.0.0"]);
  });

  it("prereleases match only a range naming a prerelease of the same version", () => {
    const c = catalog({
      "a@1.0.0": { b: "^1.0.0" },
      "b@1.0.0": {},
      "b@1.1.0-beta.1": {},
      "x@1.0.0": { b: "^1.1.0-beta.0" },
    });
    expect(versions(resolveDependencies(ask("a"), c))).toEqual(["b@1.0.0", "a@1.0.0"]);
    expect(versions(resolveDependencies(ask("x"), c))).toEqual(["b@1.1.0-beta.1", "x@1.0.0"]);
  });

  it("optional dependencies are not pulled in, but their range applies when present", () => {
    const c = catalog({
      "a@1.0.0": { b: { range: "^1.0.0", optional: true }, c: "^1.0.0" },
      "b@1.0.0": {},
      "b@2.0.0": {},
      "c@1.0.0": {},
    });
    const alone = resolveDependencies(ask("a"), c);
    expect(versions(alone)).toEqual(["c@1.0.0", "a@1.0.0"]);
    // Asked for as well: it loads first, and the optional range picks 1.0.0 over 2.0.0.
    const both = resolveDependencies([...ask("a"), ...ask("b")], c);
    expect(versions(both)).toEqual(["b@1.0.0", "c@1.0.0", "a@1.0.0"]);
    expect(both.ok && both.plugins[2]!.resolved).toEqual({ b: "1.0.0", c: "1.0.0" });
    // An optional dependency absent from the catalog is fine.
    expect(
      resolveDependencies(ask("a"), catalog({ "a@1.0.0": { z: { range: "1", optional: true } } }))
        .ok,
    )
      .toBe(true);
  });

  it("a diamond resolves the shared dependency once, to a version both accept", () => {
    const c = catalog({
      "top@1.0.0": { left: "^1.0.0", right: "^1.0.0" },
      "left@1.0.0": { base: "^1.1.0" },
      "right@1.0.0": { base: ">=1.0.0 <1.3.0" },
      "base@1.0.0": {},
      "base@1.2.5": {},
      "base@1.3.0": {},
    });
    const r = resolveDependencies(ask("top"), c);
    expect(versions(r)).toEqual(["base@1.2.5", "left@1.0.0", "right@1.0.0", "top@1.0.0"]);
  });

  it("a diamond conflict names who wants which range and what would satisfy it", () => {
    const c = catalog({
      "top@1.0.0": { left: "^1.0.0", right: "^1.0.0" },
      "left@1.0.0": { base: "^1.0.0" },
      "right@1.0.0": { base: "^2.0.0" },
      "base@1.4.0": {},
      "base@2.0.0": {},
    });
    const r = resolveDependencies(ask("top"), c);
    expect(r.ok).toBe(false);
    if (r.ok || r.failure.kind !== "conflict") throw new Error("expected a conflict");
    expect(r.failure.id).toBe("base");
    expect(r.failure.accepts).toEqual([
      { by: "left@1.0.0", range: "^1.0.0", versions: ["1.4.0"] },
      { by: "right@1.0.0", range: "^2.0.0", versions: ["2.0.0"] },
    ]);
    const message = describeFailure(r.failure);
    expect(message).toContain("left@1.0.0 wants ^1.0.0 (accepts 1.4.0)");
    expect(message).toContain("right@1.0.0 wants ^2.0.0 (accepts 2.0.0)");
    expect(message).toContain("change one of these ranges");
  });

  it("overlapping ranges with no published version say which range to publish in", () => {
    const c = catalog({
      "a@1.0.0": { base: ">=1.2.0" },
      "b@1.0.0": { base: "<1.5.0" },
      "base@1.0.0": {},
      "base@2.0.0": {},
    });
    const r = resolveDependencies([...ask("a"), ...ask("b")], c);
    if (r.ok) throw new Error("expected a conflict");
    expect(describeFailure(r.failure)).toMatch(/within \(>=1\.2\.0\) \(<1\.5\.0\).*publish one/);
  });

  it("a later choice can move an earlier one (the choice is recomputed until stable)", () => {
    const c = catalog({
      "a@1.0.0": { b: "*", c: "*" },
      "b@2.0.0": { c: "^1.0.0" },
      "c@1.0.0": {},
      "c@2.0.0": {},
    });
    expect(versions(resolveDependencies(ask("a"), c))).toEqual(["c@1.0.0", "b@2.0.0", "a@1.0.0"]);
  });

  it("a cycle is reported as its path", () => {
    const c = catalog({
      "a@1.0.0": { b: "^1.0.0" },
      "b@1.0.0": { c: "^1.0.0" },
      "c@1.0.0": { a: "^1.0.0" },
    });
    const r = resolveDependencies(ask("a"), c);
    expect(r).toMatchObject({ ok: false, failure: { kind: "cycle", cycle: ["a", "b", "c", "a"] } });
    if (!r.ok) expect(describeFailure(r.failure)).toContain("a -> b -> c -> a");
  });

  it("a missing dependency names who needs it", () => {
    const r = resolveDependencies(ask("a"), catalog({ "a@1.0.0": { gone: "^1.0.0" } }));
    expect(r).toMatchObject({
      ok: false,
      failure: { kind: "missing", id: "gone", wantedBy: [{ by: "a@1.0.0", range: "^1.0.0" }] },
    });
  });

  it("keeps a preferred (installed) version when it still satisfies every range", () => {
    const c = catalog({ "a@1.0.0": { b: "^1.0.0" }, "b@1.0.0": {}, "b@1.1.0": {} });
    const r = resolveDependencies(ask("a"), c, { preferred: new Map([["b", "1.0.0"]]) });
    expect(versions(r)).toEqual(["b@1.0.0", "a@1.0.0"]);
  });

  it("property: every resolution satisfies every range and orders dependencies first", () => {
    const ids = ["p0", "p1", "p2", "p3", "p4"];
    const ranges = ["*", "^1.0.0", "~1.1.0", "^2.0.0", ">=1.1.0", "1.0.0"];
    const arb = fc.array(
      fc.record({
        id: fc.integer({ min: 0, max: 4 }),
        version: fc.constantFrom("1.0.0", "1.1.0", "1.1.3", "2.0.0"),
        // Only on higher ids: a DAG, so failures are conflicts or missing plugins, never cycles.
        deps: fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.constantFrom(...ranges)), {
          maxLength: 3,
        }),
      }),
      { minLength: 1, maxLength: 12 },
    );
    fc.assert(fc.property(arb, (entries) => {
      const c = new Map<string, Candidate<null>[]>();
      for (const e of entries) {
        const id = ids[e.id]!;
        if (c.get(id)?.some((x) => x.version === e.version)) continue;
        const dependencies = e.deps.filter(([d]) => d > e.id).map(([d, range]) => ({
          id: ids[d]!,
          range,
          optional: false,
        }));
        c.set(id, [...(c.get(id) ?? []), { id, version: e.version, dependencies, data: null }]);
      }
      const root = ids[entries[0]!.id]!;
      const r = resolveDependencies(ask(root), c);
      if (!r.ok) {
        expect(r.failure.kind).not.toBe("cycle");
        return;
      }
      const position = new Map(r.plugins.map((p, i) => [p.candidate.id, i]));
      const chosen = new Map(r.plugins.map((p) => [p.candidate.id, p.candidate.version]));
      for (const [i, p] of r.plugins.entries()) {
        for (const d of p.candidate.dependencies) {
          expect(semver.satisfies(chosen.get(d.id)!, d.range)).toBe(true);
          expect(position.get(d.id)!).toBeLessThan(i);
        }
      }
    }));
  });
});

describe("dependencyOrder and unmetDependencies", () => {
  it("orders dependencies first, ties by id, ignoring edges out of the set", () => {
    expect(dependencyOrder([
      { id: "c", needs: ["a", "elsewhere"] },
      { id: "b", needs: [] },
      { id: "a", needs: ["b"] },
    ])).toEqual({ ok: true, order: ["b", "a", "c"] });
  });

  it("reports unmet dependencies: absent required, present out of range; optional absent is fine", () => {
    const unmet = unmetDependencies(
      [
        { id: "x", range: "^1.0.0", optional: false },
        { id: "y", range: "^2.0.0", optional: true },
        { id: "z", range: "^1.0.0", optional: true },
      ],
      new Map([["y", "1.0.0"]]),
    );
    expect(unmet).toEqual([
      { id: "x", range: "^1.0.0", present: undefined },
      { id: "y", range: "^2.0.0", present: "1.0.0" },
    ]);
  });
});

describe("manifest dependencies", () => {
  const base = {
    schemaVersion: 1,
    id: "example.a",
    version: "1.0.0",
    name: "A",
    engines: { host: "*", abi: 1 },
    capabilities: {},
  };
  const parse = (dependencies: unknown) =>
    parseManifest(new TextEncoder().encode(JSON.stringify({ ...base, dependencies })));

  it("takes a range or {range, optional}", () => {
    expect(
      parse({ "example.b": "^1.0.0", "example.c": { range: "~2.0.0", optional: true } })
        .dependencies,
    ).toEqual({
      "example.b": "^1.0.0",
      "example.c": { range: "~2.0.0", optional: true },
    });
  });

  it("refuses a self-dependency and a bad range", () => {
    expect(() => parse({ "example.a": "^1.0.0" })).toThrow(/cannot depend on itself/);
    expect(() => parse({ "example.b": "not a range" })).toThrow(/semver range/);
  });

  it("signing refuses a self-dependency", async () => {
    const key = await newKey();
    await expect(signedFirstParty("hello", key, (m) => {
      m.dependencies = { "example.hello": "^1.0.0" };
    })).rejects.toMatchObject({
      code: "invalid_manifest",
      message: expect.stringContaining("cannot depend on itself"),
    });
  });
});
