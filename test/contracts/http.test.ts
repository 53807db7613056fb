import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { installPlugin } from "../../host/core/install.ts";
import { signPlugin } from "../../host/trust/mod.ts";
import { type Harness, harness } from "../server/harness.ts";
import { signedFirstParty } from "../helpers/signing.ts";
import { fixture } from "../sandbox/fixtures.ts";
import { signUnchecked } from "./helpers.ts";

const host = {
  type: "object",
  properties: { id: { type: "string" }, name: { type: "string" } },
  required: ["id", "name"],
};
const items = (item: object) => ({
  type: "object",
  properties: { items: { type: "array", items: item } },
  required: ["items"],
});

/** The second provider: test/fixtures/inventory-static.wat with an inventory@1 manifest. */
async function staticProvider(h: Harness, edit?: (m: Record<string, unknown>) => void) {
  const manifest: Record<string, unknown> = {
    schemaVersion: 1,
    id: "test.static-inventory",
    version: "1.0.0",
    name: "Static inventory fixture",
    engines: { host: "*", abi: 1 },
    implements: [{ contract: "inventory@1", priority: 10 }],
    capabilities: {
      "inventory.list": { export: "list", output: items(host) },
      "inventory.get": {
        export: "get",
        output: { type: "object", properties: { found: { type: "boolean" } }, required: ["found"] },
      },
      "inventory.groups": {
        export: "empty",
        output: items({
          type: "object",
          properties: { name: { type: "string" } },
          required: ["name"],
        }),
      },
      "inventory.filter": { export: "empty", output: items(host) },
    },
  };
  if (edit === undefined) {
    return (await signPlugin(fixture("inventory-static"), h.key, {
      manifest: JSON.stringify(manifest),
    }))
      .wasm;
  }
  // `host sign` refuses a manifest off its contract too; this file skips that check.
  edit(manifest);
  return await signUnchecked(fixture("inventory-static"), h.key, manifest);
}

describe("contracts over HTTP", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
    await h.runtime.load(await signedFirstParty("inventory", h.key), "test");
    await h.runtime.load(await staticProvider(h), "test");
  });
  afterEach(() => h.close());

  it("POST /v1/contracts/inventory/list merges both providers' hosts, each with its provider", async () => {
    const res = await h.call("/v1/contracts/inventory/list", {
      method: "POST",
      token: h.tokens.invoke,
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(200);
    const body = await res.json() as {
      items: { id: string; provider: string }[];
      providers: { id: string; runId: string; ok: boolean }[];
    };
    // Priority order: the fixture (10) before example.inventory (0).
    expect(body.providers.map((p) => [p.id, p.ok])).toEqual([
      ["test.static-inventory", true],
      ["example.inventory", true],
    ]);
    expect(body.items.map((i) => `${i.provider}:${i.id}`)).toEqual([
      "test.static-inventory:lb-1",
      "example.inventory:web-1",
      "example.inventory:web-2",
      "example.inventory:db-1",
      "example.inventory:ci-1",
    ]);
    // Each provider call is a run of the one invoke, trigger http, under the call's correlation id.
    const correlation = res.headers.get("x-correlation-id");
    for (const p of body.providers) {
      const run = await h.store.runs.get(p.runId);
      expect(run).toMatchObject({
        pluginId: p.id,
        capability: "inventory.list",
        trigger: "http",
        status: "ok",
        correlationId: correlation,
      });
    }
  });

  it("first operations take the first provider that finds it; bad input is 422 naming the field", async () => {
    const found = await h.call("/v1/contracts/inventory@1/get", {
      method: "POST",
      token: h.tokens.invoke,
      headers: { "content-type": "application/json" },
      body: '{"id":"db-1"}',
    });
    expect(found.status).toBe(200);
    expect(await found.json()).toMatchObject({
      provider: "example.inventory",
      output: { found: true, item: { id: "db-1" } },
      providers: [{ id: "test.static-inventory", ok: true }, { id: "example.inventory", ok: true }],
    });
    const bad = await h.call("/v1/contracts/inventory/get", {
      method: "POST",
      token: h.tokens.invoke,
      headers: { "content-type": "application/json" },
      body: '{"id":7}',
    });
    expect(bad.status).toBe(422);
    expect((await bad.json() as { detail: string }).detail).toContain("/id");
    const unknown = await h.call("/v1/contracts/inventory/delete", {
      method: "POST",
      token: h.tokens.invoke,
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(unknown.status).toBe(404);
  });

  it("GET /v1/contracts lists the contracts and their providers in priority order", async () => {
    const res = await h.call("/v1/contracts", { token: h.tokens.read });
    expect(res.status).toBe(200);
    const { contracts } = await res.json() as {
      contracts: { id: string; providers: { id: string }[]; operations: { name: string }[] }[];
    };
    expect(contracts.map((c) => c.id)).toEqual([
      "inventory@1",
      "facts@1",
      "reports@1",
      "events@1",
      "command@1",
    ]);
    expect(contracts[0]!.providers.map((p) => p.id)).toEqual([
      "test.static-inventory",
      "example.inventory",
    ]);
    expect(contracts[0]!.operations.map((o) => o.name)).toEqual([
      "list",
      "get",
      "groups",
      "filter",
    ]);
    expect(contracts[1]!.providers).toEqual([]);
    // /openapi.json: one operation per contract operation, with the contract's schemas.
    const doc = await (await h.call("/openapi.json")).json() as {
      paths: Record<string, { post?: Record<string, unknown> }>;
    };
    const list = doc.paths["/v1/contracts/inventory/list"]?.post;
    expect(list).toMatchObject({
      operationId: "contract.inventory_1.list",
      security: [{ bearerAuth: [] }],
      requestBody: { content: { "application/json": { schema: { type: "object" } } } },
    });
    expect(doc.paths["/v1/contracts/{contract}/{operation}"]?.post).toBeDefined();
    expect(doc.paths["/v1/contracts/command/execute"]?.post).toBeDefined();
    const none = await h.call("/v1/contracts/facts/get", {
      method: "POST",
      token: h.tokens.invoke,
      headers: { "content-type": "application/json" },
      body: '{"host":"web-1"}',
    });
    expect(none.status).toBe(404);
  });

  it("refuses at install a plugin whose schemas violate the contract, naming the mismatch", async () => {
    const bad = await staticProvider(h, (m) => {
      const caps = m.capabilities as Record<string, Record<string, unknown>>;
      caps["inventory.get"]!.input = {
        type: "object",
        properties: { id: { type: "integer" } },
        required: ["id"],
      };
      delete caps["inventory.groups"];
      m.id = "test.bad-inventory";
    });
    const refused = await installPlugin(h.runtime, `${h.dir}/plugins`, bad).catch((e: unknown) =>
      e
    );
    // The verifier reports any invalid embedded manifest as verification_failed (HTTP 422, exit 1).
    expect(refused).toMatchObject({ code: "verification_failed" });
    const message = String((refused as Error).message);
    expect(message).toContain(
      "capabilities.inventory.get.input.properties.id.type: is integer; inventory@1 sends string",
    );
    expect(message).toContain("capabilities.inventory.groups: missing");
    expect(h.runtime.get("test.bad-inventory")).toBeUndefined();
    expect(await h.store.plugins.get("test.bad-inventory")).toBeUndefined();
  });
});
