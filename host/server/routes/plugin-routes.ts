/**
 * `/p/{pluginId}/...`: the HTTP routes plugins declare in their manifest
 * (docs/routes.md). Each request is matched against the plugin's routes, its
 * caller checked (public, or a token with one of the route's scopes), its
 * rate limit taken, its params, query and body checked against the route's
 * schemas, all before any run; then it is one run through the core's invoke
 * (trigger `route`) whose output, a RouteResponse, becomes the answer.
 * @module
 */
import type { Context } from "hono";
import {
  checkRouteRequest,
  matchRoute,
  type PluginRoute,
  routeResponseOf,
} from "../../core/routes.ts";
import type { RouteRequest } from "../../core/routes.ts";
import { HostError } from "../../errors.ts";
import { ulid } from "../../store/mod.ts";
import { grants } from "../auth.ts";
import { parseJson, readBody, requireMediaType } from "../body.ts";
import type { AppEnv, RouteModule, ServerDeps } from "../context.ts";
import { ProblemError, problemResponse } from "../problem.ts";
import { RateLimiter } from "../rate-limit.ts";

const challenge = { "www-authenticate": 'Bearer realm="plughost"' };

/** Per-route limiters, by plugin digest and route index (a new version starts afresh). */
class RouteLimits {
  readonly #limiters = new Map<string, RateLimiter>();

  /** Seconds to wait (0: go) for one more request by `client` on `route` of `digest`. */
  take(digest: string, route: PluginRoute, client: string): number {
    const limit = route.spec.rateLimit;
    if (!limit) return 0;
    const key = `${digest}#${route.index}`;
    let limiter = this.#limiters.get(key);
    if (!limiter) {
      if (this.#limiters.size >= 10_000) this.#limiters.clear();
      limiter = new RateLimiter(limit.requests / limit.perSeconds, limit.requests);
      this.#limiters.set(key, limiter);
    }
    return limiter.take(client);
  }
}

export const pluginRoutes: RouteModule = {
  name: "plugin-routes",
  register(app, deps) {
    const limits = new RouteLimits();
    const handler = (c: Context<AppEnv>) => answer(c, deps, limits);
    app.all("/p/:pluginId", handler);
    app.all("/p/:pluginId/*", handler);
  },
};

async function answer(
  c: Context<AppEnv>,
  deps: ServerDeps,
  limits: RouteLimits,
): Promise<Response> {
  const pluginId = c.req.param("pluginId") ?? "";
  const plugin = deps.runtime.get(pluginId);
  if (!plugin) {
    throw new HostError(
      "not_found",
      `No plugin '${pluginId.slice(0, 200)}' is loaded: see GET /v1/plugins`,
    );
  }
  const url = new URL(c.req.url);
  // Everything after the raw `/p/<id>` segment (Hono hands the id over decoded).
  const path = "/" + url.pathname.split("/").slice(3).join("/");
  const match = matchRoute(plugin.manifest, c.req.method, path);
  if (match.kind === "none") {
    return problemResponse(
      "route_not_found",
      `Plugin '${pluginId}' has no route ${c.req.method.slice(0, 20)} ${
        path.slice(0, 200)
      }: see /openapi.json`,
    );
  }
  if (match.kind === "method") {
    return problemResponse(
      "method_not_allowed",
      `${path.slice(0, 200)} of '${pluginId}' answers ${match.allow.join(", ")}, not ${
        c.req.method.slice(0, 20)
      }`,
      { headers: { allow: match.allow.join(", ") }, extensions: { allow: match.allow } },
    );
  }
  const { route } = match;
  const token = c.get("token");
  const auth = route.spec.auth;
  if (auth !== "public") {
    if (!token) {
      throw new ProblemError(
        "unauthorized",
        `This route needs a bearer token with scope ${auth.map((s) => `'${s}'`).join(" or ")}: ` +
          "send 'Authorization: Bearer <token>'",
        { headers: challenge },
      );
    }
    if (!auth.some((scope) => grants(token, scope, pluginId))) {
      throw new ProblemError(
        "forbidden",
        `Token '${token.name}' has none of the scopes this route needs: ${auth.join(", ")}`,
      );
    }
  }
  const client = token ? `token:${token.id}` : `address:${c.env?.remoteAddress ?? "unknown"}`;
  const wait = limits.take(plugin.digest, route, client);
  if (wait > 0) {
    throw new ProblemError(
      "rate_limited",
      `${route.spec.method} ${route.spec.path} of '${pluginId}' is over its rate limit ` +
        `(${route.spec.rateLimit?.requests} per ${route.spec.rateLimit?.perSeconds} s): retry after ${wait} s`,
      { headers: { "retry-after": String(wait) } },
    );
  }
  const body = await readJsonBody(c, deps);
  const checked = checkRouteRequest(route, { params: match.params, query: url.searchParams, body });
  const headers: Record<string, string> = {};
  for (const name of ["content-type", ...(route.spec.headers ?? [])]) {
    const value = c.req.header(name);
    if (value !== undefined) headers[name] = value;
  }
  const request: RouteRequest = {
    method: route.spec.method,
    path,
    route: route.spec.path,
    ...checked,
    headers,
  };
  return await run(deps, pluginId, route, request);
}

/** The body as JSON, or undefined when there is none; 415 for a body of another type. */
async function readJsonBody(c: Context<AppEnv>, deps: ServerDeps): Promise<unknown | undefined> {
  if (c.req.method === "GET" || c.req.method === "HEAD") return undefined;
  const bytes = await readBody(c, deps.options.maxBodyBytes);
  if (bytes.byteLength === 0) return undefined;
  requireMediaType(c, ["application/json"]);
  return parseJson(bytes);
}

/** One run of the route's capability through the core's invoke; its RouteResponse is the answer. */
async function run(
  deps: ServerDeps,
  pluginId: string,
  route: PluginRoute,
  request: RouteRequest,
): Promise<Response> {
  const runId = ulid();
  const capability = route.spec.capability;
  const result = await deps.inflight.track(
    runId,
    deps.runtime.invoke({
      pluginId,
      capability,
      input: new TextEncoder().encode(JSON.stringify(request)),
      trigger: "route",
      requireJson: true,
      // As for capability calls: the output schema is checked only when the server is asked to.
      output: deps.options.validateOutput ? "schema" : "json",
      durable: true,
      runId,
    }),
  );
  const runHeader = { "x-run-id": result.runId };
  if (!result.ok) {
    const errors = result.error.errors ? { errors: result.error.errors } : {};
    throw new HostError(result.error.class, result.error.message, {
      extensions: { runId: result.runId, ...errors },
      headers: runHeader,
    });
  }
  let response;
  try {
    response = routeResponseOf(pluginId, capability, result.output);
  } catch (error) {
    if (error instanceof HostError) {
      throw new HostError(error.code, error.message, {
        extensions: { runId: result.runId },
        headers: runHeader,
      });
    }
    throw error;
  }
  const headers = new Headers({ ...response.headers, ...runHeader });
  if (response.body === undefined || response.status === 204 || response.status === 304) {
    return new Response(null, { status: response.status, headers });
  }
  const type = headers.get("content-type");
  if (typeof response.body === "string" && type !== null && !/[/+]json\b/i.test(type)) {
    return new Response(response.body, { status: response.status, headers });
  }
  if (type === null) headers.set("content-type", "application/json");
  return new Response(JSON.stringify(response.body), { status: response.status, headers });
}
