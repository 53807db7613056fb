/**
 * `GET /metrics` (Prometheus text) and `GET /openapi.json` (this API plus one
 * operation per installed capability; public unless the operator closes it).
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

const openApiConfig = {
  method: "get" as const,
  path: "/openapi.json" as const,
  tags: ["meta"],
  summary: "This OpenAPI document, with one operation per installed capability",
  description: "Public: it describes the API, not its data. A server started with " +
    "`--private-openapi` serves it only to tokens with scope `read`.",
  responses: {
    200: {
      description: "OpenAPI 3.1",
      content: { "application/json": { schema: z.record(z.string(), z.unknown()) } },
    },
  },
};

/** `/openapi.json` as served by default: public. */
export const openApiRoute = defineRoute("public", openApiConfig);

/** `/openapi.json` on a server started with `--private-openapi`. */
export const privateOpenApiRoute = defineRoute("read", openApiConfig);

export const meta: RouteModule = {
  name: "meta",
  register(app, deps) {
    app.openapi(guarded(app, metricsRoute), async (c) => {
      const [head, subscribers] = await Promise.all([
        deps.store.delivery.head(),
        deps.store.delivery.subscriptions(),
      ]);
      const text = deps.metrics.render({
        pluginsLoaded: () => deps.runtime.list().length,
        pluginStates: () => deps.runtime.lifecycle.counts(),
        writerQueue: () => deps.store.writerStats.queued,
        writerFailed: () => deps.store.writerStats.failed,
      }, { head, subscribers });
      return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    });
    const route = deps.options.privateOpenApi ? privateOpenApiRoute : openApiRoute;
    app.openapi(guarded(app, route), (c) => {
      return c.json(openApiDocument(app, deps.runtime.list()), 200);
    });
  },
};
