/**
 * /openapi.json must be a document clients can generate from: Redocly's
 * linter with its `recommended` rules finds no error and no warning in it,
 * plugin capabilities and plugin routes included. Each finding is printed
 * with its rule and JSON pointer, so whoever adds an operation sees what to fix.
 * @module
 */
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedFirstParty } from "../helpers/signing.ts";
import { type Harness, harness } from "./harness.ts";

describe("/openapi.json under Redocly's recommended rules", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({}, { hostFunctions: capabilityProvider() });
    await h.runtime.load(await signedFirstParty("webhook", h.key), "test");
  });
  afterAll(async () => await h.close());

  it("has no errors and no warnings, with a loaded plugin's capabilities and routes", async () => {
    const res = await h.call("/openapi.json");
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(Object.keys(doc.paths)).toContain("/p/example.webhook/hooks/{source}");
    const config = await createConfig({ extends: ["recommended"] });
    const problems = await lintFromString({
      source: JSON.stringify(doc),
      absoluteRef: "openapi.json",
      config,
    });
    const findings = problems.map((p) =>
      `${p.severity} ${p.ruleId}: ${p.message} at ${
        p.location.map((l) => l.pointer ?? "").join(", ")
      }`
    );
    // One line per finding: the lead fixes operations added on other branches from this list.
    if (findings.length > 0) console.log(`openapi lint findings:\n${findings.join("\n")}`);
    expect(findings).toEqual([]);
  });
});
