/**
 * The OpenAPI 3.1 document: the routes' zod definitions, plus one operation
 * per installed capability with its manifest schemas (JSON Schema 2020-12 is
 * OpenAPI 3.1's schema language) and one per plugin route (`/p/{id}/...`),
 * so any OpenAPI client can call plugins. It must lint clean under Redocly's
 * recommended rules (test/server/openapi-lint.test.ts): every operation has
 * an `operationId` (the table below), explicit `security` and a 4xx answer.
 * @module
 */
import { CONTRACTS, operationSchemas } from "../contracts/mod.ts";
import type { PluginInfo } from "../core/mod.ts";
import { type PluginRoute, pluginRoutes } from "../core/routes.ts";
import { VERSION } from "../version.ts";
import type { ServerApp } from "./context.ts";
import { SCOPE_EXTENSION } from "./route.ts";

type Json = Record<string, unknown>;

/**
 * The `operationId` of each of the API's own operations, by `method path`.
 * A new route adds its row here; the lint test names any operation without one.
 */
export const operationIds: Readonly<Record<string, string>> = {
  "get /": "getIndex",
  "get /healthz": "getHealth",
  "get /readyz": "getReadiness",
  "get /metrics": "getMetrics",
  "get /openapi.json": "getOpenApi",
  "post /v1/plugins/{id}/capabilities/{name}": "callCapability",
  "get /v1/plugins": "listPlugins",
  "post /v1/plugins": "uploadPlugin",
  "get /v1/plugins/{id}": "getPlugin",
  "delete /v1/plugins/{id}": "removePlugin",
  "post /v1/plugins/{id}/enable": "enablePlugin",
  "post /v1/plugins/{id}/disable": "disablePlugin",
  "get /v1/runs": "listRuns",
  "get /v1/runs/{id}": "getRun",
  "post /v1/runs/{id}/replay": "replayRun",
  "get /v1/events": "listEvents",
  "get /v1/events/stream": "streamEvents",
  "get /v1/schedules": "listSchedules",
  "post /v1/schedules": "createSchedule",
  "get /v1/schedules/{name}": "getSchedule",
  "patch /v1/schedules/{name}": "updateSchedule",
  "delete /v1/schedules/{name}": "deleteSchedule",
  "post /v1/plugins/{id}/resume": "resumePlugin",
  "get /v1/runs/{id}/stream": "streamRun",
  "get /v1/events/subscribers": "listEventSubscribers",
  "get /v1/events/dead-letters": "listDeadLetters",
  "post /v1/events/dead-letters/{id}/redeliver": "redeliverDeadLetter",
  "get /v1/contracts": "listContracts",
  "post /v1/contracts/{contract}/{operation}": "callContract",
  "get /v1/plugins/{id}/config": "getPluginConfig",
  "put /v1/plugins/{id}/config": "replacePluginConfig",
  "patch /v1/plugins/{id}/config": "patchPluginConfig",
  "get /v1/plugins/{id}/config/history": "getPluginConfigHistory",
  "get /v1/plugins/{id}/secrets": "listPluginSecrets",
  "put /v1/plugins/{id}/secrets/{name}": "setPluginSecret",
  "delete /v1/plugins/{id}/secrets/{name}": "deletePluginSecret",
  "post /v1/plugins/install": "installFromRegistry",
  "post /v1/registry/artifacts": "publishArtifact",
  "get /v1/registry/artifacts/{digest}": "downloadArtifact",
  "get /v1/registry/plugins": "searchRegistry",
  "get /v1/registry/plugins/{id}": "getRegistryPlugin",
  "post /v1/registry/plugins/{id}/versions/{version}/promote": "promoteVersion",
  "post /v1/registry/plugins/{id}/versions/{version}/yank": "yankVersion",
};

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

const problem = {
  "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } },
};

function problemResponse(description: string): Json {
  return { description, content: problem };
}

/**
 * Answers every operation can give, whatever its route says: the
 * authentication middleware refuses a malformed or unknown bearer token (401)
 * and too many failed token checks (429) on every path; scoped routes also
 * answer 403.
 */
const everywhere: Record<string, string> = {
  401: "A malformed, unknown, revoked or expired bearer token (or none where one is needed)",
  429: "Too many requests (see Retry-After)",
};

/** Builds the document for the app's routes and the loaded plugins. */
export function openApiDocument(app: ServerApp, plugins: readonly PluginInfo[]): Json {
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "plughost HTTP API",
      version: VERSION,
      description: "Call WebAssembly plugin capabilities; manage plugins; read runs and events. " +
        "Errors are application/problem+json. See docs/http-api.md.",
      license: { name: "MIT", url: "https://opensource.org/license/mit" },
    },
    servers: [{ url: "/", description: "This server" }],
  }) as unknown as Json;
  const components = (doc.components ??= {}) as Json;
  components.securitySchemes = {
    bearerAuth: { type: "http", scheme: "bearer", description: "Token from `host tokens create`" },
  };
  const paths = (doc.paths ??= {}) as Record<string, Json>;
  for (const [path, item] of Object.entries(paths)) {
    for (const method of methods) {
      const operation = item[method] as Json | undefined;
      if (operation) completeOperation(`${method} ${path}`, operation);
    }
  }
  for (const plugin of plugins) {
    for (const [name, capability] of Object.entries(plugin.manifest.capabilities)) {
      paths[`/v1/plugins/${plugin.id}/capabilities/${name}`] = {
        post: capabilityOperation(plugin, name, capability),
      };
    }
    for (const route of pluginRoutes(plugin.manifest)) {
      const path = `/p/${plugin.id}${route.template === "/" ? "" : route.template}`;
      const item = (paths[path] ??= {});
      item[route.spec.method.toLowerCase()] = routeOperation(plugin, route);
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

/** Adds what the lint rules ask of the API's own operations: operationId, security, a 4xx. */
function completeOperation(key: string, operation: Json): void {
  const id = operationIds[key];
  if (id !== undefined && operation.operationId === undefined) operation.operationId = id;
  const access = operation[SCOPE_EXTENSION];
  // Public operations say so explicitly: no security is not the same as "unspecified".
  if (access === "public" && operation.security === undefined) operation.security = [];
  const responses = (operation.responses ??= {}) as Json;
  const answers = { ...everywhere, ...(access === "public" ? {} : { 403: "Missing scope" }) };
  for (const [status, description] of Object.entries(answers)) {
    responses[status] ??= problemResponse(description);
  }
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
      400: problemResponse("Malformed JSON"),
      ...Object.fromEntries(
        Object.entries({ ...everywhere, 403: "Missing scope" }).map((
          [status, text],
        ) => [status, problemResponse(text)]),
      ),
      404: problemResponse("No such contract or operation"),
      422: problemResponse("The input does not match the contract's input schema"),
      502: problemResponse("Every provider failed (providers_failed)"),
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
  const routed = (plugin.manifest.routes ?? []).some((r) => r.capability === name);
  return {
    operationId: operationId(`${plugin.id}.${name}`),
    tags: [plugin.id],
    summary: capability.description ?? `${plugin.id} ${name}`,
    description:
      `Capability '${name}' of ${plugin.id} ${plugin.version} (export '${capability.export}').` +
      (routed
        ? " It answers plugin routes: other tokens call it through them (docs/routes.md)."
        : ""),
    [SCOPE_EXTENSION]: routed ? "admin" : "invoke",
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
      400: problemResponse("Malformed JSON"),
      401: problemResponse(everywhere[401]!),
      403: problemResponse(
        routed ? "Not an admin token" : "Missing scope invoke (or invoke:<plugin id>)",
      ),
      404: problemResponse("The plugin is no longer loaded"),
      422: problemResponse("Input does not match the schema, or the plugin failed"),
      429: problemResponse("Plugin busy or token over its rate limit (see Retry-After)"),
      default: problemResponse("Another error (see docs/http-api.md)"),
    },
  };
}

/** One plugin route (docs/routes.md): its parameters, body schema, auth and answers. */
function routeOperation(plugin: PluginInfo, route: PluginRoute): Json {
  const { spec } = route;
  const properties = (schema: Json | undefined) =>
    (schema?.properties ?? {}) as Record<string, Json>;
  const required = (schema: Json | undefined) =>
    Array.isArray(schema?.required) ? (schema.required as string[]) : [];
  const parameters: Json[] = [];
  for (const segment of route.segments) {
    if (!("param" in segment)) continue;
    const schema = properties(spec.params)[segment.param] ?? { type: "string" };
    parameters.push({
      name: segment.param,
      in: "path",
      required: true,
      ...described(schema),
      schema,
    });
  }
  for (const [name, schema] of Object.entries(properties(spec.query))) {
    const isRequired = required(spec.query).includes(name);
    parameters.push({ name, in: "query", required: isRequired, ...described(schema), schema });
  }
  const scopes = spec.auth === "public" ? undefined : spec.auth;
  const scoped = scopes !== undefined;
  const limit = spec.rateLimit
    ? ` At most ${spec.rateLimit.requests} requests per ${spec.rateLimit.perSeconds} s per client.`
    : "";
  const responses: Json = {
    "2XX": {
      description: "The route's answer, as the plugin returned it",
      headers: { "x-run-id": { schema: { type: "string" }, description: "The RunRecord's id" } },
      content: { "application/json": { schema: {} } },
    },
    400: problemResponse(
      "Parameters or query off their schema, or malformed JSON (naming the field)",
    ),
    401: problemResponse(everywhere[401]!),
    ...(scoped ? { 403: problemResponse(`Needs a token with scope ${scopes.join(" or ")}`) } : {}),
    404: problemResponse("The plugin is not loaded"),
    ...(spec.body
      ? {
        415: problemResponse("The body is not application/json"),
        422: problemResponse("The body does not match its schema (naming the field)"),
      }
      : {}),
    429: problemResponse(
      spec.rateLimit ? "Over the route's rate limit (see Retry-After)" : everywhere[429]!,
    ),
    default: problemResponse("The plugin failed (see docs/http-api.md)"),
  };
  return {
    operationId: operationId(`${plugin.id}.route.${spec.method.toLowerCase()}${route.template}`),
    tags: [plugin.id],
    summary: spec.description ?? `${spec.method} ${spec.path} of ${plugin.id}`,
    description: `Route ${spec.method} ${spec.path} of ${plugin.id} ${plugin.version}, answered ` +
      `by capability '${spec.capability}'.${limit}`,
    [SCOPE_EXTENSION]: scopes ? scopes.join(" ") : "public",
    security: scoped ? [{ bearerAuth: [] }] : [],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(spec.body
      ? { requestBody: { required: true, content: { "application/json": { schema: spec.body } } } }
      : {}),
    responses,
  };
}

/** The schema's description, for the parameter itself (where client generators look for it). */
function described(schema: Json): Json {
  return typeof schema.description === "string" ? { description: schema.description } : {};
}

/** An operationId from a dotted name: anything but letters, digits, `_` and `.` becomes `_`. */
function operationId(name: string): string {
  return name.replaceAll(/[^A-Za-z0-9_.]+/g, "_").replace(/_+$/, "");
}
