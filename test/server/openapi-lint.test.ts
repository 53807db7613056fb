/**
 * /openapi.json must be a document clients can generate from: Redocly's
 * linter with its `recommended` rules finds no error and no warning in it,
 * plugin capabilities and plugin routes included. Each finding is printed
 * with its rule and JSON pointer, so whoever adds an operation sees what to fix.
 * @module
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { createHost } from "../../host/host.ts";
import { registryOf } from "../../host/registry/mod.ts";
import { createApp } from "../../host/server/app.ts";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newKey, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";
import { type Harness, harness } from "./harness.ts";

/** Redocly's findings for a document, one line each (rule, message, JSON pointer). */
async function lint(doc: unknown): Promise<string[]> {
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
  // One line per finding: whoever adds an operation sees what to fix.
  if (findings.length > 0) console.log(`openapi lint findings:\n${findings.join("\n")}`);
  return findings;
}

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
    expect(await lint(doc)).toEqual([]);
  });

  it("has no errors and no warnings with the registry routes mounted (host serve --registry)", async () => {
    const home = await mkdtemp(join(tmpdir(), "plughost-lint-"));
    const host = await createHost({ home, trust: trustStoreOf(await newKey()), cache: false });
    try {
      const { app } = createApp({
        host,
        options: { rateLimitPerSecond: 0 },
        registry: registryOf(host),
      });
      const doc = await (await app.request("/openapi.json")).json();
      expect(Object.keys(doc.paths).filter((p) => p.startsWith("/v1/registry/")).length)
        .toBeGreaterThan(0);
      expect(await lint(doc)).toEqual([]);
    } finally {
      await host.close();
      await rm(home, { recursive: true, force: true });
    }
  });
});
