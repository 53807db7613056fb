/**
 * `POST /v1/plugins/install`: a running host installs or updates plugins
 * from a registry (host/registry installFromRegistry), with the same checks
 * as `host install --registry` / `host update`. An update asking for new
 * permissions answers 409 `consent_required` with the diff; the operator
 * confirms by repeating the request with `acceptPermissions: true`.
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { Host } from "../../host.ts";
import { installFromRegistry, parseRequest, RegistryClient } from "../../registry/mod.ts";
import type { RouteModule } from "../context.ts";
import { defineRoute, guarded } from "../route.ts";
import { problemContent } from "../schemas.ts";

const Change = z.object({
  id: z.string(),
  version: z.string(),
  digest: z.string(),
  from: z.string().optional(),
  permissions: z.object({ added: z.array(z.string()), removed: z.array(z.string()) }),
});

export const installFromRegistryRoute = defineRoute("admin", {
  method: "post",
  path: "/v1/plugins/install",
  tags: ["plugins"],
  summary: "Install or update plugins from a registry (consent for new permissions)",
  description:
    "Resolves `plugins` (`id` or `id@range`) and their dependencies on the registry at " +
    "`registry` with what is installed, verifies every file against this server's trust store and " +
    "installs the set (all or nothing; the lockfile is rewritten). `update` lists installed ids " +
    "free to move to their newest version. A replaced plugin asking for new permissions answers " +
    "409 consent_required (details.changes) unless `acceptPermissions` is true.",
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.strictObject({
            registry: z.string().url().max(2048),
            plugins: z.array(z.string().min(1).max(300)).max(100).default([]),
            update: z.array(z.string().min(1).max(128)).max(100).default([]),
            channel: z.enum(["draft", "beta", "ga"]).default("ga"),
            acceptPermissions: z.boolean().default(false),
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "What changed, in install order (empty: nothing to do)",
      content: { "application/json": { schema: z.object({ changes: z.array(Change) }) } },
    },
    409: problemContent("Dependencies cannot be met, or new permissions need acceptPermissions"),
    422: problemContent("A file does not verify against this server's trust store"),
    502: problemContent("The registry cannot be reached"),
  },
});

/** The route over the served host (`createApp` registers it on every app). */
export function registryInstallRoutes(host: Host): RouteModule {
  return {
    name: "registry-install",
    register(app, deps) {
      app.openapi(guarded(app, installFromRegistryRoute), async (c) => {
        const body = c.req.valid("json");
        const { changes } = await installFromRegistry(host, body.plugins.map(parseRequest), {
          client: new RegistryClient(body.registry),
          channel: body.channel,
          update: body.update,
          acceptPermissions: body.acceptPermissions,
        });
        for (const change of changes) {
          deps.log(
            `installed ${change.id}@${change.version} from ${body.registry} by token '${
              c.get("token")?.name ?? "?"
            }'`,
          );
        }
        return c.json({ changes }, 200);
      });
    },
  };
}
