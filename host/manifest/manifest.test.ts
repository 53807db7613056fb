import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HostError } from "../errors.ts";
import { manifestJsonSchemaText } from "./json-schema.ts";
import { architectureExample } from "../../test/artifact/manifest-example.ts";
import { engineProblems, exportProblems, type Manifest, parseManifest } from "./mod.ts";
import { parseManifestSection } from "./parse.ts";
import { ManifestSchema } from "./schema.ts";

function problemsOf(value: unknown): string[] {
  try {
    parseManifest(value);
  } catch (error) {
    expect(error).toBeInstanceOf(HostError);
    expect((error as HostError).code).toBe("invalid_manifest");
    return (error as HostError).details?.["problems"] as string[];
  }
  throw new Error("expected the manifest to be refused");
}

describe("manifest schema", () => {
  it("parses the architecture page's example, from a value, text and bytes", () => {
    const text = JSON.stringify(architectureExample);
    expect(parseManifest(architectureExample)).toEqual(architectureExample);
    expect(parseManifest(text)).toEqual(architectureExample);
    expect(parseManifest(new TextEncoder().encode(text))).toEqual(architectureExample);
  });

  it("names the field in every error", () => {
    const bad = structuredClone(architectureExample) as Record<string, unknown>;
    bad["version"] = "1.0";
    (bad["engines"] as Record<string, unknown>)["host"] = "not a range!";
    (bad["capabilities"] as Record<string, Record<string, unknown>>)["greet"]!["export"] = 7;
    (bad["schedules"] as Record<string, unknown>[])[0]!["cron"] = "every minute";
    bad["colour"] = "blue";
    const problems = problemsOf(bad);
    expect(problems).toContain("version: must be a semantic version like '1.2.3'");
    expect(problems).toContain("engines.host: must be a semver range like '^1.0.0'");
    expect(problems.some((p) => p.startsWith("capabilities.greet.export: "))).toBe(true);
    expect(problems.some((p) => p.startsWith("schedules.0.cron: must be a cron"))).toBe(true);
    expect(problems).toContain("(root): unknown field(s) 'colour'");
  });

  it("takes cron patterns of 5 or 6 fields only, as the scheduler does", () => {
    const withCron = (cron: string) => {
      const m = structuredClone(architectureExample) as Record<string, unknown>;
      (m["schedules"] as Record<string, unknown>[])[0]!["cron"] = cron;
      return m;
    };
    expect(parseManifest(withCron("*/5 * * * *")).schedules?.[0]?.cron).toBe("*/5 * * * *");
    expect(parseManifest(withCron("*/10 * * * * *")).schedules?.[0]?.cron).toBe("*/10 * * * * *");
    expect(problemsOf(withCron("0 0 0 * * * 2030"))[0]).toMatch(
      /^schedules\.0\.cron: must be a cron expression of 5 fields/,
    );
    expect(problemsOf(withCron("* * * *"))[0]).toMatch(/^schedules\.0\.cron: /);
  });

  it("refuses wrong schema versions, bad ids, schedules of unknown capabilities, non-JSON", () => {
    expect(problemsOf({ ...architectureExample, schemaVersion: 2 })[0]).toMatch(/^schemaVersion: /);
    expect(problemsOf({ ...architectureExample, id: "Example Hello" })[0]).toMatch(/^id: must be/);
    const schedules = [{ name: "t", cron: "* * * * *", capability: "nope" }];
    expect(problemsOf({ ...architectureExample, schedules })).toEqual([
      "schedules.0.capability: names 'nope', which is not one of this manifest's capabilities",
    ]);
    expect(() => parseManifest("{ nope")).toThrow(/Invalid manifest: not JSON/);
  });

  it("parses a module's manifest section once, and again once its bytes changed", () => {
    const data = new TextEncoder().encode(JSON.stringify(architectureExample));
    const wasm = new Uint8Array(8); // stands for the module the section was read from
    const first = parseManifestSection(wasm, data);
    expect(first).toEqual(architectureExample);
    expect(parseManifestSection(wasm, data.slice())).toBe(first); // equal bytes: not parsed again
    expect(parseManifestSection(new Uint8Array(8), data)).not.toBe(first); // another module
    const changed = new TextEncoder().encode(
      JSON.stringify({ ...architectureExample, version: "9.9.9" }),
    );
    expect(parseManifestSection(wasm, changed).version).toBe("9.9.9");
    data[data.indexOf(0x7b) + 1] = 0x20; // '{"' -> '{ ': no longer JSON
    expect(() => parseManifestSection(wasm, data)).toThrow(/not JSON/);
  });

  it("refuses a schema that is not JSON Schema, naming where (no call could use it)", () => {
    const m = structuredClone(architectureExample) as Record<string, unknown>;
    const greet = (m["capabilities"] as Record<string, Record<string, unknown>>)["greet"]!;
    greet["input"] = { type: "object", properties: { name: { type: "strin" } } };
    greet["output"] = {
      type: "object",
      required: "message",
      "x-note": "unknown keywords are fine",
    };
    const problems = problemsOf(m);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      /^capabilities\.greet\.input: is not valid JSON Schema: data\/properties\/name\/type must be equal to one of the allowed values/,
    );
    expect(problems[1]).toBe(
      "capabilities.greet.output: is not valid JSON Schema: data/required must be array",
    );
    // Stored manifests (a registry's published versions) are read without the check.
    expect(ManifestSchema.parse(m).capabilities["greet"]?.output).toEqual(greet["output"]);
    greet["input"] = { $schema: "http://json-schema.org/draft-07/schema#", type: "object" };
    greet["output"] = undefined;
    expect(problemsOf(m)).toEqual([
      'capabilities.greet.input: is not valid JSON Schema: data/$schema is "http://json-schema.org/draft-07/schema#": ' +
      'the host checks JSON Schema 2020-12 only (use "https://json-schema.org/draft/2020-12/schema" or leave it out)',
    ]);
  });
});

describe("manifest checks", () => {
  const manifest = parseManifest(architectureExample) as Manifest;

  it("checks engines against the host version and ABI", () => {
    expect(engineProblems(manifest)).toEqual([]);
    expect(engineProblems(manifest, { version: "0.2.0", abi: 1 })).toEqual([
      "engines.host: '^0.1.0' does not include this host's version 0.2.0",
    ]);
    expect(engineProblems(manifest, { version: "0.1.5", abi: 2 })).toEqual([
      "engines.abi: the plugin needs ABI 1, this host provides ABI 2",
    ]);
  });

  it("requires capability and hook exports to be functions of the module", () => {
    const fn = (name: string) => ({ name, kind: "function" as const });
    expect(exportProblems(manifest, ["greet", "on_load", "on_event", "on_shutdown"].map(fn)))
      .toEqual([]);
    expect(
      exportProblems(manifest, [
        fn("on_load"),
        fn("on_event"),
        { name: "greet", kind: "memory" },
        fn("x"),
      ]),
    )
      .toEqual([
        "capabilities.greet.export: the module exports no function named 'greet'",
        "hooks.onShutdown: the module exports no function named 'on_shutdown'",
      ]);
  });
});

describe("schemas/manifest.schema.json", () => {
  it("is current (regenerate: node scripts/run-ts.mjs scripts/gen-schemas.ts)", () => {
    const committed = readFileSync(
      join(import.meta.dirname, "..", "..", "schemas", "manifest.schema.json"),
      "utf8",
    );
    expect(committed).toBe(manifestJsonSchemaText());
  });
});
