/**
 * Which methods a path answers, read from the app's own route table, so a
 * request with the wrong method on a known path gets 405 with `Allow`
 * (RFC 9110 §15.5.6) instead of a 404 that suggests the path is wrong.
 * @module
 */
import type { ServerApp } from "./context.ts";

interface PathMethods {
  pattern: RegExp;
  methods: Set<string>;
}

/**
 * Builds a lookup from the routes registered on `app` (call it after every
 * route is registered). Middleware (`ALL`, wildcard paths) is left out: it
 * answers nothing by itself. GET implies HEAD, as Hono answers HEAD from GET.
 */
export function allowedMethods(app: ServerApp): (path: string) => string[] {
  let table: PathMethods[] | undefined;
  const build = (): PathMethods[] => {
    const byPath = new Map<string, Set<string>>();
    for (const route of app.routes) {
      if (route.method === "ALL" || route.path.includes("*")) continue;
      const set = byPath.get(route.path) ?? new Set<string>();
      set.add(route.method.toUpperCase());
      if (route.method.toUpperCase() === "GET") set.add("HEAD");
      byPath.set(route.path, set);
    }
    return [...byPath].map(([path, methods]) => ({ pattern: pathPattern(path), methods }));
  };
  return (path) => {
    table ??= build();
    const methods = new Set<string>();
    for (const entry of table) {
      if (entry.pattern.test(path)) { for (const m of entry.methods) methods.add(m); }
    }
    return [...methods].sort();
  };
}

/** `/v1/runs/:id` -> /^\/v1\/runs\/[^/]+$/ */
function pathPattern(path: string): RegExp {
  const source = path.split("/").map((part) =>
    part.startsWith(":") ? "[^/]+" : part.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&")
  ).join("/");
  // No optional trailing slash: the router matches paths exactly, so a 405 for `/v1/plugins/`
  // would name methods that path does not answer.
  return new RegExp(`^${source}$`);
}
