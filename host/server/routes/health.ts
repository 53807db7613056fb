/**
 * `GET /healthz` (the process answers) and `GET /readyz` (the store answers
 * and plugins are loaded; 503 while starting or shutting down).
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { RouteModule } from "../context.ts";
import { ProblemError } from "../problem.ts";
import { defineRoute, guarded } from "../route.ts";
import { problemContent } from "../schemas.ts";

export const healthz = defineRoute("public", {
  method: "get",
  path: "/healthz",
  tags: ["health"],
  summary: "Liveness: the process is up",
  responses: {
    200: {
      description: "Up",
      content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } },
    },
  },
});

export const readyz = defineRoute("public", {
  method: "get",
  path: "/readyz",
  tags: ["health"],
  summary: "Readiness: the store is reachable and plugins are loaded",
  responses: {
    200: {
      description: "Ready",
      content: {
        "application/json": {
          schema: z.object({ status: z.literal("ready"), plugins: z.number().int() }),
        },
      },
    },
    503: problemContent("Not ready (starting, shutting down, or the store is unreachable)"),
  },
});

export const health: RouteModule = {
  name: "health",
  register(app, deps) {
    app.openapi(guarded(app, healthz), (c) => c.json({ status: "ok" as const }, 200));
    app.openapi(guarded(app, readyz), async (c) => {
      if (!deps.ready()) {
        throw new ProblemError("not_ready", "The host is starting or shutting down");
      }
      try {
        await deps.store.ping();
      } catch {
        // A fixed text: the route is public, and the driver's words can name the database's
        // address or more. `host doctor` on the server says what is wrong.
        throw new ProblemError(
          "not_ready",
          "The store does not answer; run 'host doctor' on the server to see why",
        );
      }
      return c.json({ status: "ready" as const, plugins: deps.runtime.list().length }, 200);
    });
  },
};
