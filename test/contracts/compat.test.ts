import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  contractJsonSchemaText,
  contractProblems,
  CONTRACTS,
  dispatchContract,
  inventoryProviders,
} from "./helpers.ts";
import { parseManifest } from "../../host/manifest/mod.ts";
import { repoRoot } from "../helpers/cli.ts";

const host: Record<string, unknown> = {
  type: "object",
  properties: { id: { type: "string" }, name: { type: "string" } },
  required: ["id", "name"],
};
const list: Record<string, unknown> = {
  type: "object",
  properties: { items: { type: "array", items: host } },
  required: ["items"],
};
/** Capabilities that implement inventory@1 exactly. */
function inventory(): Record<
  string,
  { export: string; input?: Record<string, unknown>; output?: Record<string, unknown> }
> {
  return {
    "inventory.list": { export: "list", output: list },
    "inventory.get": {
      export: "get",
      input: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
      output: {
        type: "object",
        properties: { found: { type: "boolean" }, item: host },
        required: ["found"],
      },
    },
    "inventory.groups": {
      export: "groups",
      output: {
        type: "object",
        properties: {
          items: {
            type: "array",
            items: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
          },
        },
        required: ["items"],
      },
    },
    "inventory.filter": {
      export: "filter",
      input: {
        type: "object",
        properties: {
          group: { type: "string" },
          name: { type: "string" },
          limit: { type: "integer" },
        },
        additionalProperties: false,
      },
      output: list,
    },
  };
}

describe("contract compatibility", () => {
  it("accepts capabilities that match inventory@1", () => {
    expect(contractProblems(["inventory@1"], inventory())).toEqual([]);
  });

  it("names a missing capability, an unknown contract and a missing output", () => {
    const caps = inventory();
    delete caps["inventory.groups"];
    delete caps["inventory.list"]!.output;
    expect(contractProblems(["inventory@1", "billing@1"], caps)).toEqual([
      "implements.1: 'billing@1' is no contract this host knows (known: inventory@1, facts@1, reports@1, events@1, command@1)",
      "capabilities.inventory.list.output: missing; inventory@1 needs an output schema declaring its fields",
      "capabilities.inventory.groups: missing; inventory@1 needs a capability 'inventory.groups' for its operation 'groups'",
    ].sort((a, b) => (a.startsWith("implements") ? 1 : 0) - (b.startsWith("implements") ? 1 : 0)));
  });

  it("refuses an input field of another type, one it cannot take, and an extra required field", () => {
    const caps = inventory();
    caps["inventory.get"]!.input = {
      type: "object",
      properties: { id: { type: "integer" }, region: { type: "string" } },
      required: ["id", "region"],
    };
    caps["inventory.filter"]!.input = {
      type: "object",
      properties: { group: { type: "string" }, limit: { type: "number" } },
      required: ["group"],
      additionalProperties: false,
    };
    expect(contractProblems(["inventory@1"], caps)).toEqual([
      "capabilities.inventory.get.input.properties.id.type: is integer; inventory@1 sends string",
      "capabilities.inventory.get.input.required: requires 'region', which inventory@1 never sends",
      "capabilities.inventory.filter.input.properties.name: missing; inventory@1 may send 'name' and additionalProperties is false",
      "capabilities.inventory.filter.input.required: requires 'group', which inventory@1 leaves optional (callers may omit it)",
    ]);
  });

  it("refuses an output that does not require the contract's fields, deep in arrays", () => {
    const caps = inventory();
    caps["inventory.list"]!.output = {
      type: "object",
      properties: {
        items: {
          type: "array",
          items: {
            type: "object",
            properties: { id: { type: "number" }, name: { type: "string" } },
            required: ["id"],
          },
        },
      },
      required: ["items"],
    };
    expect(contractProblems(["inventory@1"], caps)).toEqual([
      "capabilities.inventory.list.output.properties.items.items.required: must require 'name' (declared in properties); inventory@1 requires it",
      "capabilities.inventory.list.output.properties.items.items.properties.id.type: is number; inventory@1 needs string",
    ].reverse());
  });

  it("is enforced when a manifest is parsed (install and load refuse it)", () => {
    const manifest = {
      schemaVersion: 1,
      id: "test.bad-inventory",
      version: "1.0.0",
      name: "bad",
      engines: { host: "*", abi: 1 },
      implements: ["inventory@1"],
      capabilities: { ...inventory(), "inventory.get": { export: "get", output: list } },
    };
    expect(() => parseManifest(JSON.stringify(manifest))).toThrow(
      "capabilities.inventory.get.output.required: must require 'found'",
    );
  });
});

describe("schemas/contracts/", () => {
  it("holds the current JSON Schema of every contract (scripts/gen-schemas.ts)", () => {
    for (const [id, contract] of CONTRACTS) {
      const committed = readFileSync(
        join(repoRoot, "schemas", "contracts", `${id}.schema.json`),
        "utf8",
      );
      expect(committed, id).toBe(contractJsonSchemaText(contract));
    }
  });
});

describe("dispatchContract", () => {
  const encoder = new TextEncoder();
  it("merges list answers with provenance and reports a failed provider without failing", async () => {
    const providers = inventoryProviders(["b.inv", 0], ["a.inv", 5], ["c.inv", 0]);
    const calls: string[] = [];
    const answer = await dispatchContract(
      CONTRACTS.get("inventory@1")!,
      "list",
      {},
      providers,
      (id, cap, input) => {
        calls.push(`${id}/${cap} ${new TextDecoder().decode(input)}`);
        if (id === "c.inv") {
          return Promise.resolve({
            runId: "r-c",
            ok: false,
            error: { class: "trap", message: "boom" },
          });
        }
        return Promise.resolve({
          runId: `r-${id}`,
          ok: true,
          output: encoder.encode(JSON.stringify({ items: [{ id: "h1", name: `${id}-host` }] })),
        });
      },
    );
    expect(calls.sort()).toEqual([
      "a.inv/inventory.list {}",
      "b.inv/inventory.list {}",
      "c.inv/inventory.list {}",
    ]);
    expect(answer).toEqual({
      contract: "inventory@1",
      operation: "list",
      mode: "merge",
      items: [
        { id: "h1", name: "a.inv-host", provider: "a.inv" },
        { id: "h1", name: "b.inv-host", provider: "b.inv" },
      ],
      providers: [
        { id: "a.inv", runId: "r-a.inv", ok: true },
        { id: "b.inv", runId: "r-b.inv", ok: true },
        { id: "c.inv", runId: "r-c", ok: false, error: { class: "trap", message: "boom" } },
      ],
    });
  });

  it("asks first providers in priority order until one finds it; refuses bad input before any call", async () => {
    const providers = inventoryProviders(["low", -1], ["high", 9]);
    const order: string[] = [];
    const answer = await dispatchContract(
      CONTRACTS.get("inventory@1")!,
      "get",
      { id: "x" },
      providers,
      (id) => {
        order.push(id);
        const output = id === "high"
          ? { found: false }
          : { found: true, item: { id: "x", name: "ex" } };
        return Promise.resolve({
          runId: id,
          ok: true,
          output: encoder.encode(JSON.stringify(output)),
        });
      },
    );
    expect(order).toEqual(["high", "low"]);
    expect(answer).toMatchObject({ provider: "low", output: { found: true, item: { id: "x" } } });
    const refused = await dispatchContract(
      CONTRACTS.get("inventory@1")!,
      "get",
      { id: 3 },
      providers,
      () => {
        throw new Error("must not be called");
      },
    ).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "schema_mismatch" });
    expect(String((refused as Error).message)).toContain("/id");
  });

  it("counts an answer off the contract's output schema as that provider's failure", async () => {
    const failed = await dispatchContract(
      CONTRACTS.get("inventory@1")!,
      "list",
      {},
      inventoryProviders(["p", 0]),
      () =>
        Promise.resolve({ runId: "r", ok: true, output: encoder.encode('{"items":[{"id":"1"}]}') }),
    ).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: "providers_failed" });
    expect(String((failed as Error).message)).toContain("/items/0/name");
  });
});
