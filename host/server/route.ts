/**
 * Route definitions carry the scope they need as the OpenAPI extension
 * `x-plughost-scope`, so the OpenAPI document is also the route table (the
 * auth matrix test is generated from it) and `guarded` installs the matching
 * `requireScope` middleware.
 * @module
 */
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import { requireScope, type Scope } from "./auth.ts";
import type { ServerApp } from "./context.ts";

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
 * Installs the scope check for `route` on `app` (before its handler) and
 * returns the route, for `app.openapi(guarded(app, route), handler)`.
 */
export function guarded<R extends RouteConfig>(
  app: ServerApp,
  route: R,
  options: { pluginParam?: string } = {},
): R {
  const access = (route as Record<string, unknown>)[SCOPE_EXTENSION] as Access | undefined;
  if (access === undefined) throw new Error(`Route ${route.path} has no ${SCOPE_EXTENSION}`);
  if (access !== "public") {
    app.on(route.method.toUpperCase(), honoPath(route.path), requireScope(access, options));
  }
  return route;
}

/** `/v1/runs/{id}` -> `/v1/runs/:id`. */
export function honoPath(path: string): string {
  return path.replaceAll(/\{([^}]+)\}/g, ":$1");
}
