/**
 * Plugin routes: list, show, upload (verified, kept by digest, enabled),
 * enable, disable, resume (lifecycle) and uninstall.
 * @module
 */
import { z } from "@hono/zod-openapi";
import { HostError } from "../../errors.ts";
import { setPluginState } from "../../core/mod.ts";
import { readBody, requireMediaType } from "../body.ts";
import type { RouteModule, ServerApp, ServerDeps } from "../context.ts";
import { forHttp } from "../http-wording.ts";
import { pluginDetail, pluginSummary } from "../plugin-view.ts";
import { defineRoute, guarded } from "../route.ts";
import { registerConfigRoutes } from "./plugin-config.ts";
import { PluginDetail, PluginSummary, problemContent } from "../schemas.ts";

const IdParam = z.object({ id: z.string().min(1).max(200) });
const notFound = problemContent("No such plugin");

export const listPlugins = defineRoute("read", {
  method: "get",
  path: "/v1/plugins",
  tags: ["plugins"],
  summary: "List loaded plugins",
  responses: {
    200: {
      description: "Every loaded plugin, by id",
      content: { "application/json": { schema: z.object({ plugins: z.array(PluginSummary) }) } },
    },
  },
});

export const getPlugin = defineRoute("read", {
  method: "get",
  path: "/v1/plugins/{id}",
  tags: ["plugins"],
  summary: "Show a plugin: manifest, signers, state, capabilities with schemas",
  request: { params: IdParam },
  responses: {
    200: { description: "The plugin", content: { "application/json": { schema: PluginDetail } } },
    404: notFound,
  },
});

export const uploadPlugin = defineRoute("admin", {
  method: "post",
  path: "/v1/plugins",
  tags: ["plugins"],
  summary: "Upload a signed plugin (.wasm)",
  description: "The body is the plugin file (Content-Type application/wasm or " +
    "application/octet-stream). It is verified against the trust store, kept by digest and " +
    "enabled. An installed id is replaced only by a higher version unless ?force=true, and only " +
    "by a file signed by a key the id is pinned to unless ?rekey=true (recorded as plugin.rekeyed). " +
    "The trust store is re-read first.",
  request: {
    query: z.object({
      force: z.enum(["true", "false", "1", "0"]).optional().describe("Replace even when not newer"),
      rekey: z.enum(["true", "false", "1", "0"]).optional().describe(
        "Accept a signer outside the id's pin and pin the id to it",
      ),
    }),
    body: {
      required: true,
      content: {
        "application/wasm": { schema: z.string().openapi({ format: "binary" }) },
      },
    },
  },
  responses: {
    201: {
      description: "Installed",
      content: { "application/json": { schema: PluginDetail } },
    },
    403: problemContent(
      "The manifest asks for more than the operator policy allows (details.excesses)",
    ),
    409: problemContent(
      "An equal or higher version is installed, or the file's signer is not the id's pinned key",
    ),
    413: problemContent("File too large"),
    415: problemContent("Not application/wasm or application/octet-stream"),
    422: problemContent("Verification failed: unsigned, tampered, untrusted or bad manifest"),
  },
});

const stateRoute = (action: "enable" | "disable") =>
  defineRoute("admin", {
    method: "post",
    path: `/v1/plugins/{id}/${action}`,
    tags: ["plugins"],
    summary: `${action === "enable" ? "Enable" : "Disable"} a plugin`,
    request: { params: IdParam },
    responses: {
      200: {
        description: "The plugin",
        content: { "application/json": { schema: PluginDetail } },
      },
      404: notFound,
    },
  });

export const enablePlugin = stateRoute("enable");
export const disablePlugin = stateRoute("disable");

export const resumePlugin = defineRoute("admin", {
  method: "post",
  path: "/v1/plugins/{id}/resume",
  tags: ["plugins"],
  summary: "Resume a suspended plugin (close its circuit breaker) or retry one in error",
  description: "A suspended plugin goes back to active immediately: its breaker closes, " +
    "recorded as plugin.breaker_closed and plugin.state_changed. A plugin in state error runs its " +
    "onLoad hook again. See docs/lifecycle.md.",
  request: { params: IdParam },
  responses: {
    200: {
      description: "The plugin, with its new lifecycle state",
      content: { "application/json": { schema: PluginDetail } },
    },
    404: notFound,
    409: problemContent("The plugin is neither suspended nor in error"),
  },
});

export const deletePlugin = defineRoute("admin", {
  method: "delete",
  path: "/v1/plugins/{id}",
  tags: ["plugins"],
  summary: "Uninstall a plugin (unload it and remove its record; its signer pin stays)",
  request: { params: IdParam },
  responses: { 204: { description: "Uninstalled" }, 404: notFound },
});

export const plugins: RouteModule = {
  name: "plugins",
  register(app, deps) {
    app.openapi(
      guarded(app, listPlugins),
      (c) =>
        c.json({
          plugins: deps.runtime.list().map((p) => pluginSummary(p, deps.runtime.status(p.id))),
        }, 200),
    );
    app.openapi(guarded(app, getPlugin), (c) => {
      const info = required(deps, c.req.valid("param").id);
      return c.json(pluginDetail(info, deps.runtime.status(info.id)), 200);
    });
    app.openapi(guarded(app, uploadPlugin), async (c) => {
      requireMediaType(c, ["application/wasm", "application/octet-stream"]);
      const wasm = await readBody(c, deps.options.maxUploadBytes);
      const { force, rekey } = c.req.valid("query");
      // Through the Host: the same install as `host install`, lockfile rewritten too.
      const info = await deps.host.install(wasm, {
        force: force === "true" || force === "1",
        rekey: rekey === "true" || rekey === "1",
        source: "upload",
        via: "http",
      }).catch((error) => Promise.reject(forHttp(error)));
      deps.log(
        `uploaded ${info.id}@${info.version} (${info.digest.slice(0, 12)}) by token '${
          c.get("token")?.name ?? "?"
        }'`,
      );
      return c.json(pluginDetail(info, deps.runtime.status(info.id)), 201);
    });
    registerState(app, deps, enablePlugin, "enabled");
    registerState(app, deps, disablePlugin, "disabled");
    app.openapi(guarded(app, resumePlugin), async (c) => {
      const id = c.req.valid("param").id;
      required(deps, id);
      await deps.runtime.lifecycle.resume(id, "http");
      return c.json(pluginDetail(required(deps, id), deps.runtime.status(id)), 200);
    });
    app.openapi(guarded(app, deletePlugin), async (c) => {
      await deps.host.uninstall(c.req.valid("param").id)
        .catch((error) => Promise.reject(forHttp(error)));
      return c.body(null, 204);
    });
    registerConfigRoutes(app, deps);
  },
};

function registerState(
  app: ServerApp,
  deps: ServerDeps,
  route: typeof enablePlugin,
  state: "enabled" | "disabled",
): void {
  app.openapi(guarded(app, route), async (c) => {
    const id = c.req.valid("param").id;
    required(deps, id);
    const info = await setPluginState(deps.runtime, id, state);
    return c.json(pluginDetail(info, deps.runtime.status(id)), 200);
  });
}

function required(deps: ServerDeps, id: string) {
  const info = deps.runtime.get(id);
  if (!info) throw new HostError("not_found", `No plugin '${id}' is loaded: see GET /v1/plugins`);
  return info;
}
