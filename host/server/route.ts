/**
 * Route definitions carry the scope they need as the OpenAPI extension
 * `x-plughost-scope`, so the OpenAPI document is also the route table (the
 * auth matrix test is generated from it) and `guarded` installs the matching
 * `requireScope` middleware.
 * @module
 */
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { requireScope, type Scope, type ScopeOptions } from "./auth.ts";
import type { AppEnv, ServerApp } from "./context.ts";
import { jsonShapeProblem } from "../core/json-shape.ts";
import { ProblemError } from "./problem.ts";
import { requireUtf8 } from "./body.ts";

/** Who may call a route: a scope, or anyone (`public`). */
export type Access = Scope | "public";

/** The OpenAPI extension naming a route's scope. */
export const SCOPE_EXTENSION = "x-plughost-scope";

/** `createRoute` plus the route's access (scope extension and bearer security). */
export function defineRoute<
  P extends string,
  R extends Omit<RouteConfig, "path"> & { path: P },
>(access: Access, config: R) {
  return createRoute({
    ...config,
    [SCOPE_EXTENSION]: access,
    ...(access === "public" ? {} : { security: [{ bearerAuth: [] }] }),
  });
}

/**
 * Installs the scope check and the query-parameter check for `route` on
 * `app` (before its handler) and returns the route, for
 * `app.openapi(guarded(app, route), handler)`.
 */
export function guarded<R extends RouteConfig>(
  app: ServerApp,
  route: R,
  options: ScopeOptions = {},
): R {
  const access = (route as Record<string, unknown>)[SCOPE_EXTENSION] as Access | undefined;
  if (access === undefined) throw new Error(`Route ${route.path} has no ${SCOPE_EXTENSION}`);
  const query = knownQuery(queryNames(route));
  // One middleware, not two: each handler on a path is one more router entry matched and one
  // more step composed on every request to it.
  const scope = access === "public" ? undefined : requireScope(access, options);
  const checks: MiddlewareHandler<AppEnv> = hasJsonBody(route)
    ? (c, next) =>
      query(c, async () => {
        await jsonShape(c, next);
      })
    : query;
  app.on(
    route.method.toUpperCase(),
    honoPath(route.path),
    scope
      ? (c, next) =>
        scope(c, async () => {
          await checks(c, next);
        })
      : checks,
  );
  return route;
}

/** Whether the route's body is JSON its validator parses (`c.req.valid("json")`). */
function hasJsonBody(route: RouteConfig): boolean {
  const body = route.request?.body as { content?: Record<string, unknown> } | undefined;
  return body?.content?.["application/json"] !== undefined;
}

/**
 * Refuses a JSON body in a charset other than UTF-8 (415; Hono would decode it
 * as UTF-8), nested too deeply or with a key given twice
 * (host/core/json-shape.ts), before the route's validator parses it: the text
 * read here is the one the validator reads (Hono keeps it). Malformed JSON is
 * left to the validator's own 400.
 */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

const jsonShape: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("content-type");
  const type = header?.split(";")[0]?.trim() ?? "";
  // Every type Hono's JSON validator parses (application/merge-patch+json, ...), not just one.
  if (JSON_MEDIA_TYPE.test(type)) {
    requireUtf8(header);
    const text = await c.req.text();
    let value: unknown;
    let parsed = true;
    try {
      value = JSON.parse(text);
    } catch {
      parsed = false;
    }
    const problem = parsed ? jsonShapeProblem(text, value) : undefined;
    if (problem !== undefined) {
      throw new ProblemError("invalid_json", `The request body ${problem}`);
    }
  }
  await next();
};

/** The query parameters a route declares (none when it has no query schema). */
export function queryNames(route: RouteConfig): string[] {
  const query = route.request?.query as { shape?: Record<string, unknown> } | undefined;
  return Object.keys(query?.shape ?? {});
}

/**
 * Refuses query parameters the route does not declare (400, naming them and
 * the accepted ones): a misspelt filter (`?plugin=` for `?pluginId=`) would
 * otherwise be ignored and the answer would look like an unfiltered success.
 */
export function knownQuery(accepted: readonly string[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const url = c.req.url;
    // Most requests have no query: no URL to parse.
    if (!url.includes("?")) return await next();
    const names = [...new Set(new URL(url).searchParams.keys())];
    const unknown = names.filter((n) => !accepted.includes(n));
    if (unknown.length > 0) {
      const list = unknown.map((n) => `'${n.slice(0, 100)}'`).slice(0, 20).join(", ");
      throw new ProblemError(
        "invalid_input",
        `Unknown query parameter${unknown.length === 1 ? "" : "s"} ${list}: ${
          accepted.length === 0
            ? "this route takes none"
            : `this route accepts ${accepted.map((n) => `'${n}'`).join(", ")}`
        }`,
        { extensions: { unknown: unknown.slice(0, 20), accepted } },
      );
    }
    await next();
  };
}

/** `/v1/runs/{id}` -> `/v1/runs/:id`. */
export function honoPath(path: string): string {
  return path.replaceAll(/\{([^}]+)\}/g, ":$1");
}
