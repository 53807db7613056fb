/**
 * Plugin secrets in the database (admin scope): `GET /v1/plugins/{id}/secrets`
 * (names and versions), `PUT` and `DELETE /v1/plugins/{id}/secrets/{name}`.
 * A value goes in, sealed under the server's `$PLUGHOST_SECRETS_KEY`; no
 * response ever carries one. Hosts sharing the database see a change within
 * seconds (docs/security.md#secrets).
 * @module
 */
import { z } from "@hono/zod-openapi";
import { importSecretsKey, SECRETS_KEY_ENV, storeSecret } from "../../capabilities/mod.ts";
import { HostError } from "../../errors.ts";
import type { RouteModule, ServerDeps } from "../context.ts";
import { defineRoute, guarded } from "../route.ts";
import { problemContent } from "../schemas.ts";

const pluginId = z.string().max(128).regex(
  /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/,
  "must be a plugin id like 'example.db'",
);
const secretName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a name like 'API_TOKEN'");
const PluginParam = z.object({ id: pluginId });
const SecretParam = z.object({ id: pluginId, name: secretName });
const Listing = z.object({
  name: z.string(),
  version: z.int(),
  keyId: z.string().describe("Which key sealed it (first 8 bytes of its SHA-256, hex)"),
  updatedAt: z.string(),
}).openapi("SecretListing");
const SetBody = z.object({
  value: z.string().min(1, "must not be empty (DELETE removes a secret)").max(65536),
}).openapi("SecretValue");

export const listSecrets = defineRoute("admin", {
  method: "get",
  path: "/v1/plugins/{id}/secrets",
  tags: ["secrets"],
  summary: "List a plugin's database secrets: names and versions, never values",
  request: { params: PluginParam },
  responses: {
    200: {
      description: "The names set for the plugin",
      content: { "application/json": { schema: z.object({ secrets: z.array(Listing) }) } },
    },
  },
});

export const putSecret = defineRoute("admin", {
  method: "put",
  path: "/v1/plugins/{id}/secrets/{name}",
  tags: ["secrets"],
  summary: "Set a plugin secret (a new version), encrypted at rest; the value is never returned",
  request: {
    params: SecretParam,
    body: { required: true, content: { "application/json": { schema: SetBody } } },
  },
  responses: {
    200: {
      description: "Stored",
      content: {
        "application/json": {
          schema: z.object({ pluginId: z.string(), name: z.string(), version: z.int() }),
        },
      },
    },
    409: problemContent(`The server was started without a usable ${SECRETS_KEY_ENV}`),
  },
});

export const deleteSecret = defineRoute("admin", {
  method: "delete",
  path: "/v1/plugins/{id}/secrets/{name}",
  tags: ["secrets"],
  summary: "Remove a plugin secret from the database",
  request: { params: SecretParam },
  responses: { 204: { description: "Removed" }, 404: problemContent("Not set") },
});

export const secrets: RouteModule = {
  name: "secrets",
  register(app, deps) {
    app.openapi(guarded(app, listSecrets), async (c) => {
      const all = await deps.store.secrets.list(c.req.valid("param").id);
      return c.json({ secrets: all.map(({ pluginId: _, ...rest }) => rest) }, 200);
    });
    app.openapi(guarded(app, putSecret), async (c) => {
      const { id, name } = c.req.valid("param");
      const key = await serverKey(deps);
      const version = await storeSecret(
        deps.store.secrets,
        key,
        id,
        name,
        c.req.valid("json").value,
      );
      await changed(deps, id, name, "set", version, c.get("token")?.name);
      return c.json({ pluginId: id, name, version }, 200);
    });
    app.openapi(guarded(app, deleteSecret), async (c) => {
      const { id, name } = c.req.valid("param");
      if (!(await deps.store.secrets.remove(id, name))) {
        throw new HostError("not_found", `No secret '${name}' of '${id}' in the database`);
      }
      await changed(deps, id, name, "unset", null, c.get("token")?.name);
      return c.body(null, 204);
    });
  },
};

/**
 * The server's key. A server started without one answers 409 `conflict`
 * saying so: the request is fine, the server's setup refuses it (not a 5xx,
 * which would read as the server failing).
 */
async function serverKey(deps: ServerDeps) {
  try {
    return await importSecretsKey(deps.secretsKey());
  } catch (error) {
    throw new HostError(
      "conflict",
      `This server cannot store secrets: ${
        (error as Error).message
      }; restart it with ${SECRETS_KEY_ENV}`,
    );
  }
}

async function changed(
  deps: ServerDeps,
  pluginId: string,
  name: string,
  action: "set" | "unset",
  version: number | null,
  token: string | undefined,
): Promise<void> {
  await deps.store.events.append({
    type: "secret.changed",
    level: "info",
    source: "host",
    pluginId,
    runId: null,
    payload: { name, action, version, by: `http:${token ?? "?"}` },
  });
  deps.log(`secret ${action}: ${pluginId} ${name} by token '${token ?? "?"}'`);
}
