/**
 * `POST /v1/plugins/{id}/capabilities/{name}`: a capability call over HTTP.
 * JSON in, the plugin's JSON out with `x-run-id`; the core's invoke checks
 * both against the capability's schemas, records the run (durable before the
 * answer is sent) and counts it in the metrics.
 * @module
 */
import { z } from "@hono/zod-openapi";
import { HostError } from "../../errors.ts";
import type { Manifest } from "../../manifest/mod.ts";
import { type ApiToken, ulid } from "../../store/mod.ts";
import { grants } from "../auth.ts";
import type { InvokeRequest } from "../../core/mod.ts";
import { parseJson, readBody, requireMediaType } from "../body.ts";
import type { RouteModule, ServerDeps } from "../context.ts";
import { defineRoute, guarded } from "../route.ts";
import { problemContent } from "../schemas.ts";

/** The generic capability route; /openapi.json adds one operation per installed capability. */
export const callCapability = defineRoute("invoke", {
  method: "post",
  path: "/v1/plugins/{id}/capabilities/{name}",
  tags: ["capabilities"],
  summary: "Call a capability of a plugin",
  description: "JSON in, JSON out. The response's `x-run-id` names the RunRecord, durable " +
    "before the response is sent. With `?async=true` the input is checked, the run queued " +
    "(per-plugin concurrency) and the answer is 202 with the run id and " +
    "`Location: /v1/runs/{id}`; `GET /v1/runs/{id}/stream` follows it to its output. " +
    "Needs scope `invoke` (or `invoke:<plugin id>`).",
  request: {
    params: z.object({ id: z.string().max(200), name: z.string().max(200) }),
    query: z.object({
      async: z.enum(["true", "false"]).optional().describe(
        "true: queue the run and answer 202 at once",
      ),
    }),
  },
  responses: {
    200: {
      description: "The capability's output",
      headers: z.object({ "x-run-id": z.string() }),
      content: { "application/json": { schema: z.unknown() } },
    },
    202: {
      description: "Queued (async=true): follow it at `stream`",
      headers: z.object({ location: z.string(), "x-run-id": z.string() }),
      content: {
        "application/json": {
          schema: z.object({
            runId: z.string(),
            status: z.enum(["queued", "running"]),
            location: z.string(),
            stream: z.string(),
          }).openapi("AsyncRunAccepted"),
        },
      },
    },
    400: problemContent("Malformed JSON or bad header"),
    403: problemContent("Missing scope, or the plugin was denied a permission"),
    404: problemContent("No such plugin or capability"),
    409: problemContent("The plugin is disabled"),
    413: problemContent("Body too large"),
    415: problemContent("Body is not application/json"),
    422: problemContent("Input does not match the schema, or the plugin failed"),
    429: problemContent(
      "Plugin busy, token over its rate limit, or the async queue full (see Retry-After)",
    ),
    500: problemContent("The plugin trapped or its output is invalid"),
    503: problemContent(
      "The plugin is suspended (circuit breaker open; see Retry-After) or not ready (loading, in error)",
    ),
    504: problemContent("The call timed out"),
  },
});

const correlationPattern = /^[A-Za-z0-9._:-]{1,200}$/;

export const capabilities: RouteModule = {
  name: "capabilities",
  register(app, deps) {
    app.openapi(guarded(app, callCapability), async (c) => {
      const { id, name } = c.req.valid("param");
      const plugin = deps.runtime.get(id);
      if (!plugin) {
        throw new HostError("not_found", `No plugin '${id}' is loaded: see GET /v1/plugins`);
      }
      refuseRouted(plugin.manifest, name, c.get("token"));
      requireMediaType(c, ["application/json"]);
      const correlationId = c.req.header("x-correlation-id");
      if (correlationId !== undefined && !correlationPattern.test(correlationId)) {
        throw new HostError(
          "invalid_input",
          "x-correlation-id must be 1-200 letters, digits or . _ : -",
        );
      }
      const bytes = await readBody(c, deps.options.maxBodyBytes);
      // An empty body is refused here: the core reads empty input as "no input".
      if (bytes.byteLength === 0) parseJson(bytes);
      if (c.req.valid("query").async === "true") {
        return accept(deps, id, name, bytes, correlationId, c.get("token")?.id) as never;
      }
      // A raw Response: the plugin's JSON bytes go out as they came, never re-serialized.
      return (await invoke(deps, id, name, bytes, correlationId)) as never;
    });
  },
};

/**
 * A capability that answers plugin routes (docs/routes.md) is called through
 * them, where its auth, rate limit and request schemas apply; here it would
 * take any input from any `invoke` token. Only `admin` tokens may call it here.
 */
function refuseRouted(manifest: Manifest, name: string, token: ApiToken | undefined): void {
  const routes = (manifest.routes ?? []).filter((r) => r.capability === name);
  if (routes.length === 0 || (token && grants(token, "admin"))) return;
  const list = routes.slice(0, 5).map((r) => `${r.method} /p/${manifest.id}${r.path}`).join(", ");
  throw new HostError(
    "forbidden",
    `Capability '${name}' of '${manifest.id}' answers HTTP routes: call it through ${list} ` +
      "(only admin tokens call it here)",
  );
}

/**
 * Queues the call (`?async=true`) after the checks a synchronous call would
 * fail at once (capability, JSON, input schema), so a 202 means it will run.
 */
function accept(
  deps: ServerDeps,
  pluginId: string,
  capability: string,
  input: Uint8Array,
  correlationId: string | undefined,
  owner: string | undefined,
): Response {
  const runId = ulid();
  const request = httpRequest(deps, pluginId, capability, input, correlationId, runId);
  deps.runtime.check(request);
  deps.runQueue.submit(
    runId,
    pluginId,
    () => deps.inflight.track(runId, deps.runtime.invoke(request)),
    owner,
  );
  const location = `/v1/runs/${runId}`;
  return Response.json({
    runId,
    status: deps.runQueue.state(runId) === "queued" ? "queued" : "running",
    location,
    stream: `${location}/stream`,
  }, { status: 202, headers: { location, "x-run-id": runId } });
}

/** Runs the call through the core's invoke (input and output checks, RunRecord, metrics). */
async function invoke(
  deps: ServerDeps,
  pluginId: string,
  capability: string,
  input: Uint8Array,
  correlationId: string | undefined,
): Promise<Response> {
  const runId = ulid();
  const result = await deps.inflight.track(
    runId,
    deps.runtime.invoke(httpRequest(deps, pluginId, capability, input, correlationId, runId)),
  );
  const headers: Record<string, string> = { "x-run-id": result.runId };
  if (!result.ok) {
    const errors = result.error.errors ? { errors: result.error.errors } : {};
    throw new HostError(result.error.class, result.error.message, {
      extensions: { runId: result.runId, ...errors },
      headers,
    });
  }
  return new Response(result.output as Uint8Array<ArrayBuffer>, {
    status: 200,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** The core request of an HTTP capability call, synchronous or async. */
function httpRequest(
  deps: ServerDeps,
  pluginId: string,
  capability: string,
  input: Uint8Array,
  correlationId: string | undefined,
  runId: string,
): InvokeRequest {
  return {
    pluginId,
    capability,
    input,
    trigger: "http",
    requireJson: true,
    correlationId,
    output: deps.options.validateOutput ? "schema" : "json",
    durable: true,
    runId,
  };
}
