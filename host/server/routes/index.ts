/**
 * `GET /`: a small index of the API for whoever opens the server's address
 * (a person in a browser, a client looking for the OpenAPI document).
 * @module
 */
import { z } from "@hono/zod-openapi";
import { VERSION } from "../../version.ts";
import type { RouteModule } from "../context.ts";
import { defineRoute, guarded } from "../route.ts";

const Link = z.object({ href: z.string(), description: z.string() });

export const indexRoute = defineRoute("public", {
  method: "get",
  path: "/",
  tags: ["meta"],
  summary: "Index: what this server is and where to start",
  responses: {
    200: {
      description: "Links to the API's description, health and docs",
      content: {
        "application/json": {
          schema: z.object({
            name: z.literal("plughost"),
            version: z.string(),
            docs: z.string(),
            links: z.record(z.string(), Link),
          }).openapi("Index"),
        },
      },
    },
  },
});

export const index: RouteModule = {
  name: "index",
  register(app, deps) {
    app.openapi(guarded(app, indexRoute), (c) =>
      c.json({
        name: "plughost" as const,
        version: VERSION,
        docs: "docs/http-api.md in the plughost source describes every route and error",
        links: {
          openapi: {
            href: "/openapi.json",
            description: deps.options.privateOpenApi
              ? "This API as OpenAPI 3.1 (needs a token with scope 'read' on this server)"
              : "This API as OpenAPI 3.1, with one operation per loaded capability",
          },
          healthz: { href: "/healthz", description: "Liveness" },
          readyz: { href: "/readyz", description: "Readiness" },
          plugins: { href: "/v1/plugins", description: "Loaded plugins (needs a token)" },
        },
      }, 200));
  },
};
