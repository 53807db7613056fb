/**
 * Plugin config routes (scope `admin`): `GET /v1/plugins/{id}/config` (the
 * effective values with secret fields redacted, the stored base and overlay),
 * `PUT` (replace a scope's values), `PATCH` (JSON Merge Patch, RFC 7396: null
 * removes a key) and `GET .../config/history`. Every change is validated
 * against the plugin's config schema before it is stored (422
 * `invalid_config` naming each field by JSON Pointer). See docs/config.md.
 * @module
 */
import { z } from "@hono/zod-openapi";
import { HostError } from "../../errors.ts";
import { isObject, putOwn } from "../../plugin-config/mod.ts";
import type { ServerApp, ServerDeps } from "../context.ts";
import { defineRoute, guarded } from "../route.ts";
import { problemContent } from "../schemas.ts";

const IdParam = z.object({ id: z.string().min(1).max(200) });
const EnvQuery = z.object({
  env: z.string().max(64).optional().describe(
    "The environment overlay (e.g. production); omitted: the base (GET: this server's environment)",
  ),
});
const Values = z.record(z.string(), z.unknown()).openapi("ConfigValues");
const Scope = z.object({
  version: z.int(),
  values: Values,
  changedAt: z.string(),
  changedBy: z.string(),
});
const ConfigViewSchema = z.object({
  pluginId: z.string(),
  env: z.string().nullable(),
  effective: Values,
  default: Values,
  base: Scope.nullable(),
  overlay: Scope.nullable(),
  variables: z.array(z.string()),
  schema: z.record(z.string(), z.unknown()).nullable(),
}).openapi("PluginConfig");
const ChangedSchema = z.object({
  pluginId: z.string(),
  env: z.string().nullable(),
  version: z.int(),
  changed: z.array(z.string()),
  values: Values,
  changedAt: z.string(),
  changedBy: z.string(),
}).openapi("PluginConfigChanged");
const notFound = problemContent("No such plugin loaded");
const invalid = problemContent(
  "The values fail the plugin's config schema (errors: [{path, message}], path a JSON Pointer)",
);
const conflict = problemContent("Another change of the same scope was stored meanwhile; retry");

export const getPluginConfig = defineRoute("admin", {
  method: "get",
  path: "/v1/plugins/{id}/config",
  tags: ["plugins"],
  summary: "Show a plugin's config: effective values (secret fields redacted), base and overlay",
  request: { params: IdParam, query: EnvQuery },
  responses: {
    200: {
      description: "The config",
      content: { "application/json": { schema: ConfigViewSchema } },
    },
    404: notFound,
  },
});

const changeRoute = (method: "put" | "patch") =>
  defineRoute("admin", {
    method,
    path: "/v1/plugins/{id}/config",
    tags: ["plugins"],
    summary: method === "put"
      ? "Replace a plugin's stored config values (base, or ?env= overlay)"
      : "Merge into a plugin's stored config values (JSON Merge Patch: null removes a key)",
    description:
      "Validated against the plugin's config schema (merged over the manifest default, " +
      "and the base under each overlay) before it is stored as the scope's next version; appends " +
      "plugin.config_changed (secret fields redacted). Runs see it from their next call, on every " +
      "host sharing the database.",
    request: {
      params: IdParam,
      query: EnvQuery,
      body: { required: true, content: { "application/json": { schema: Values } } },
    },
    responses: {
      200: {
        description: "Stored",
        content: { "application/json": { schema: ChangedSchema } },
      },
      404: notFound,
      409: conflict,
      422: invalid,
    },
  });

export const putPluginConfig = changeRoute("put");
export const patchPluginConfig = changeRoute("patch");

export const pluginConfigHistory = defineRoute("admin", {
  method: "get",
  path: "/v1/plugins/{id}/config/history",
  tags: ["plugins"],
  summary: "Every stored version of a plugin's config, newest first (secret fields redacted)",
  request: { params: IdParam, query: EnvQuery },
  responses: {
    200: {
      description: "The versions",
      content: {
        "application/json": {
          schema: z.object({
            versions: z.array(Scope.extend({ env: z.string().nullable() })),
          }),
        },
      },
    },
    404: notFound,
  },
});

/** Registers the config routes (called by the plugins route module). */
export function registerConfigRoutes(app: ServerApp, deps: ServerDeps): void {
  app.openapi(guarded(app, getPluginConfig), async (c) => {
    const info = loaded(deps, c.req.valid("param").id);
    const { env } = c.req.valid("query");
    const view = await deps.runtime.configs.view(info.manifest, env || deps.runtime.configs.env);
    return c.json(view, 200);
  });
  for (const [route, merge] of [[putPluginConfig, false], [patchPluginConfig, true]] as const) {
    app.openapi(guarded(app, route), async (c) => {
      const info = loaded(deps, c.req.valid("param").id);
      const { env } = c.req.valid("query");
      const body = c.req.valid("json");
      const by = `http:${c.get("token")?.name ?? "?"}`;
      const changed = await deps.runtime.configs.change(info.manifest, {
        env,
        by,
        edit: (current) => merge ? mergePatch(current, body) : body,
      });
      deps.log(
        `config of ${info.id}${env ? ` (env ${env})` : ""} is now version ${changed.version} (${
          changed.changed.join(", ") || "no change"
        }) by ${by}`,
      );
      // Runs the plugin's onConfigChange here now; other hosts see it at their next run.
      await deps.runtime.configChanged(info.id);
      return c.json(changed, 200);
    });
  }
  app.openapi(guarded(app, pluginConfigHistory), async (c) => {
    const info = loaded(deps, c.req.valid("param").id);
    const { env } = c.req.valid("query");
    return c.json({ versions: await deps.runtime.configs.history(info.manifest, env) }, 200);
  });
}

function loaded(deps: ServerDeps, id: string) {
  const info = deps.runtime.get(id);
  if (!info) throw new HostError("not_found", `No plugin '${id}' is loaded: see GET /v1/plugins`);
  return info;
}

/** RFC 7396 JSON Merge Patch: objects merge, null removes, anything else replaces. */
export function mergePatch(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const prev = Object.hasOwn(out, key) ? out[key] : undefined;
    if (value === null) delete out[key];
    else if (isObject(value)) putOwn(out, key, mergePatch(isObject(prev) ? prev : {}, value));
    else putOwn(out, key, value);
  }
  return out;
}
