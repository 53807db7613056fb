/**
 * `POST /v1/plugins/{id}/capabilities/{name}`: a capability call over HTTP.
 * JSON in (checked against the capability's input schema), the plugin's JSON
 * out with `x-run-id`; the RunRecord is durable before the answer is sent.
 * @module
 */
import { z } from "@hono/zod-openapi";
import { HostError } from "../../errors.ts";
import { capabilityValidator } from "../../runtime/mod.ts";
import { ulid } from "../../store/mod.ts";
import { parseJson, readBody, requireMediaType } from "../body.ts";
import type { RouteModule, ServerDeps } from "../context.ts";
import { ProblemError } from "../problem.ts";
import { defineRoute, guarded } from "../route.ts";
import { problemContent } from "../schemas.ts";

/** The generic capability route; /openapi.json adds one operation per installed capability. */
export const callCapability = defineRoute("invoke", {
  method: "post",
  path: "/v1/plugins/{id}/capabilities/{name}",
  tags: ["capabilities"],
  summary: "Call a capability of a plugin",
  description: "JSON in, JSON out. The response's `x-run-id` names the RunRecord, durable " +
    "before the response is sent. Needs scope `invoke` (or `invoke:<plugin id>`).",
  request: {
    params: z.object({ id: z.string().max(200), name: z.string().max(200) }),
  },
  responses: {
    200: {
      description: "The capability's output",
      headers: z.object({ "x-run-id": z.string() }),
      content: { "application/json": { schema: z.unknown() } },
    },
    400: problemContent("Malformed JSON or bad header"),
    403: problemContent("Missing scope, or the plugin was denied a permission"),
    404: problemContent("No such plugin or capability"),
    409: problemContent("The plugin is disabled"),
    413: problemContent("Body too large"),
    415: problemContent("Body is not application/json"),
    422: problemContent("Input does not match the schema, or the plugin failed"),
    429: problemContent("Plugin busy or token over its rate limit (see Retry-After)"),
    500: problemContent("The plugin trapped or its output is invalid"),
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
      const checkInput = capabilityValidator(plugin.manifest, name, "input");
      requireMediaType(c, ["application/json"]);
      const correlationId = c.req.header("x-correlation-id");
      if (correlationId !== undefined && !correlationPattern.test(correlationId)) {
        throw new HostError(
          "invalid_input",
          "x-correlation-id must be 1-200 letters, digits or . _ : -",
        );
      }
      const bytes = await readBody(c, deps.options.maxBodyBytes);
      const input = parseJson(bytes);
      const issues = checkInput(input);
      if (issues.length > 0) {
        throw new ProblemError(
          "schema_mismatch",
          `The input does not match the input schema of ${id}/${name}: ${
            issues.slice(0, 5).map((i) => `${i.path || "(root)"} ${i.message}`).join("; ")
          }`,
          { extensions: { errors: issues } },
        );
      }
      // A raw Response: the plugin's JSON bytes go out as they came, never re-serialized.
      return (await invoke(deps, id, name, bytes, correlationId)) as never;
    });
  },
};

async function invoke(
  deps: ServerDeps,
  pluginId: string,
  capability: string,
  input: Uint8Array,
  correlationId: string | undefined,
): Promise<Response> {
  const runId = ulid();
  const started = performance.now();
  deps.metrics.callStarted(pluginId);
  let errorClass: string | undefined = "host_error";
  let fuel = 0;
  try {
    const result = await deps.inflight.track(
      runId,
      deps.runtime.invoke({
        pluginId,
        capability,
        input,
        trigger: "http",
        correlationId,
        durable: true,
        runId,
      }),
    );
    fuel = result.usage.fuel;
    const headers = { "x-run-id": result.runId };
    if (!result.ok) {
      errorClass = result.error.class;
      const error = new HostError(result.error.class, result.error.message);
      throw new ProblemError(result.error.class, result.error.message, {
        status: error.httpStatus,
        extensions: { runId: result.runId },
        headers: result.error.class === "busy" ? { ...headers, "retry-after": "1" } : headers,
      });
    }
    const output = checkOutput(deps, pluginId, capability, result.output, result.runId);
    errorClass = undefined;
    return new Response(output as Uint8Array<ArrayBuffer>, {
      status: 200,
      headers: { "content-type": "application/json", ...headers },
    });
  } catch (error) {
    if (error instanceof HostError && errorClass === "host_error") errorClass = error.code;
    throw error;
  } finally {
    deps.metrics.callEnded(pluginId, (performance.now() - started) / 1000, fuel, errorClass);
  }
}

/** The output as JSON bytes; 500 `output_invalid` when it is not JSON or (when asked) off-schema. */
function checkOutput(
  deps: ServerDeps,
  pluginId: string,
  capability: string,
  output: Uint8Array,
  runId: string,
): Uint8Array {
  const fail = (detail: string, extensions: Record<string, unknown> = {}) =>
    new ProblemError("output_invalid", detail, {
      extensions: { runId, ...extensions },
      headers: { "x-run-id": runId },
    });
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(output));
  } catch {
    throw fail(`Plugin '${pluginId}' returned output that is not JSON from '${capability}'`);
  }
  if (deps.options.validateOutput) {
    const plugin = deps.runtime.get(pluginId);
    const issues = plugin ? capabilityValidator(plugin.manifest, capability, "output")(value) : [];
    if (issues.length > 0) {
      throw fail(
        `Plugin '${pluginId}' returned output that does not match the output schema of '${capability}'`,
        { errors: issues },
      );
    }
  }
  return output;
}
