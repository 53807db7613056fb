/**
 * The OpenAPI 3.1 document: the routes' zod definitions, plus one operation
 * per installed capability with its manifest schemas (JSON Schema 2020-12 is
 * OpenAPI 3.1's schema language), so any OpenAPI client can call plugins.
 * @module
 */
import { CONTRACTS, operationSchemas } from "../contracts/mod.ts";
import type { PluginInfo } from "../core/mod.ts";
import { VERSION } from "../version.ts";
import type { ServerApp } from "./context.ts";
import { SCOPE_EXTENSION } from "./route.ts";

type Json = Record<string, unknown>;

/** Builds the document for the app's routes and the loaded plugins. */
export function openApiDocument(app: ServerApp, plugins: readonly PluginInfo[]): Json {
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "plughost HTTP API",
      version: VERSION,
      description: "Call WebAssembly plugin capabilities; manage plugins; read runs and events. " +
        "Errors are application/problem+json. See docs/http-api.md.",
    },
  }) as unknown as Json;
  const components = (doc.components ??= {}) as Json;
  components.securitySchemes = {
    bearerAuth: { type: "http", scheme: "bearer", description: "Token from `host tokens create`" },
  };
  const paths = (doc.paths ??= {}) as Json;
  for (const plugin of plugins) {
    for (const [name, capability] of Object.entries(plugin.manifest.capabilities)) {
      paths[`/v1/plugins/${plugin.id}/capabilities/${name}`] = {
        post: capabilityOperation(plugin, name, capability),
      };
    }
  }
  // One operation per contract operation, with the contract's schemas (docs/contracts.md).
  for (const [id, contract] of CONTRACTS) {
    for (const [operation, schemas] of Object.entries(operationSchemas(contract))) {
      paths[`/v1/contracts/${contract.name}/${operation}`] = {
        post: contractOperation(id, operation, contract.operations[operation]!, schemas),
      };
    }
  }
  return doc;
}

function contractOperation(
  id: string,
  operation: string,
  op: { description: string; mode: string },
  schemas: { input: Json; output: Json },
): Json {
  const outcomes = {
    type: "array",
    items: { $ref: "#/components/schemas/ContractProviderOutcome" },
  };
  const answer = op.mode === "merge"
    ? {
      type: "object",
      properties: {
        contract: { type: "string" },
        operation: { type: "string" },
        mode: { const: "merge" },
        items: {
          type: "array",
          description: "Every provider's items, each with `provider` (its plugin id)",
          items: (schemas.output.properties as Json | undefined)?.items
            ? ((schemas.output.properties as Json).items as Json).items
            : {},
        },
        providers: outcomes,
      },
      required: ["contract", "operation", "mode", "items", "providers"],
    }
    : {
      type: "object",
      properties: {
        contract: { type: "string" },
        operation: { type: "string" },
        mode: { const: "first" },
        provider: { type: ["string", "null"] },
        output: schemas.output,
        providers: outcomes,
      },
      required: ["contract", "operation", "mode", "provider", "output", "providers"],
    };
  return {
    operationId: `contract.${id.replace("@", "_")}.${operation}`,
    tags: ["contracts"],
    summary: `${id} ${operation}: ${op.description}`,
    description: `Contract ${id}, operation '${operation}' (${op.mode}); the same as ` +
      "POST /v1/contracts/{contract}/{operation}. Needs scope `invoke`.",
    [SCOPE_EXTENSION]: "invoke",
    security: [{ bearerAuth: [] }],
    requestBody: { required: true, content: { "application/json": { schema: schemas.input } } },
    responses: {
      200: {
        description: "The answer",
        headers: { "x-correlation-id": { schema: { type: "string" } } },
        content: { "application/json": { schema: answer } },
      },
      default: {
        description: "An error (see docs/http-api.md)",
        content: {
          "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } },
        },
      },
    },
  };
}

function capabilityOperation(
  plugin: PluginInfo,
  name: string,
  capability: PluginInfo["manifest"]["capabilities"][string],
): Json {
  const problem = {
    "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } },
  };
  return {
    operationId: `${plugin.id}.${name}`.replaceAll(/[^A-Za-z0-9_.]/g, "_"),
    tags: [plugin.id],
    summary: capability.description ?? `${plugin.id} ${name}`,
    description:
      `Capability '${name}' of ${plugin.id} ${plugin.version} (export '${capability.export}').`,
    [SCOPE_EXTENSION]: "invoke",
    security: [{ bearerAuth: [] }],
    requestBody: {
      required: true,
      content: { "application/json": { schema: capability.input ?? {} } },
    },
    responses: {
      200: {
        description: "The capability's output",
        headers: { "x-run-id": { schema: { type: "string" }, description: "The RunRecord's id" } },
        content: { "application/json": { schema: capability.output ?? {} } },
      },
      default: { description: "An error (see docs/http-api.md)", content: problem },
    },
  };
}
