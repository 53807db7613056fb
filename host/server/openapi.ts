/**
 * The OpenAPI 3.1 document: the routes' zod definitions, plus one operation
 * per installed capability with its manifest schemas (JSON Schema 2020-12 is
 * OpenAPI 3.1's schema language), so any OpenAPI client can call plugins.
 * @module
 */
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
  return doc;
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
