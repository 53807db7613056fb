/**
 * `GET /metrics` (Prometheus text) and `GET /openapi.json` (this API plus one
 * operation per installed capability).
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { RouteModule } from "../context.ts";
import { openApiDocument } from "../openapi.ts";
import { defineRoute, guarded } from "../route.ts";

export const metricsRoute = defineRoute("read", {
  method: "get",
  path: "/metrics",
  tags: ["meta"],
  summary: "Metrics in the Prometheus text format",
  responses: {
    200: { description: "Metrics", content: { "text/plain": { schema: z.string() } } },
  },
});

export const openApiRoute = defineRoute("read", {
  method: "get",
  path: "/openapi.json",
  tags: ["meta"],
  summary: "This OpenAPI document, with one operation per installed capability",
  responses: {
    200: {
      description: "OpenAPI 3.1",
      content: { "application/json": { schema: z.record(z.string(), z.unknown()) } },
    },
  },
});

export const meta: RouteModule = {
  name: "meta",
  register(app, deps) {
    app.openapi(guarded(app, metricsRoute), (c) => {
      const text = deps.metrics.render({
        pluginsLoaded: () => deps.runtime.list().length,
        writerQueue: () => deps.store.writerStats.queued,
        writerFailed: () => deps.store.writerStats.failed,
      });
      return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    });
    app.openapi(guarded(app, openApiRoute), (c) => {
      return c.json(openApiDocument(app, deps.runtime.list()), 200);
    });
  },
};
