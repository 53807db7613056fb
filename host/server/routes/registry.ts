/**
 * Registry routes under `/v1/registry/` (mounted by `host serve --registry`):
 * publish, download by digest, search, per-plugin versions, promote, yank.
 * The work is host/registry/service.ts.
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HostError } from "../../errors.ts";
import type { RegistryService } from "../../registry/service.ts";
import { grants } from "../auth.ts";
import { readBody, requireMediaType } from "../body.ts";
import type { AppEnv, RouteModule } from "../context.ts";
import { defineRoute, guarded } from "../route.ts";
import { problemContent } from "../schemas.ts";

const Channel = z.enum(["draft", "beta", "ga"]);
const PluginId = z.string().min(1).max(128);
const Digest = z.string().regex(/^[0-9a-f]{64}$/, "a hex SHA-256 digest");

const Version = z.object({
  pluginId: z.string(),
  version: z.string(),
  digest: z.string(),
  channel: Channel,
  verified: z.boolean(),
  signerKeyIds: z.array(z.string()),
  publisher: z.string(),
  publishedAt: z.string(),
  sourceUrl: z.string().nullable(),
  changelog: z.string().nullable(),
  yanked: z.boolean(),
  yankReason: z.string().nullable(),
  size: z.number(),
  capabilities: z.array(z.string()),
  permissions: z.array(z.string()),
  manifest: z.record(z.string(), z.unknown()),
}).openapi("RegistryVersion");

const Summary = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  version: z.string(),
  digest: z.string(),
  channel: Channel,
  verified: z.boolean(),
  capabilities: z.array(z.string()),
  publisher: z.string(),
  updatedAt: z.string(),
}).openapi("RegistrySummary");

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const publishArtifact = defineRoute("registry:publish", {
  method: "post",
  path: "/v1/registry/artifacts",
  tags: ["registry"],
  summary: "Publish a signed plugin file to the registry",
  description: "The body is the plugin file (application/wasm). It must verify against the " +
    "registry's trust store, pass the manifest checks and load in the sandbox. It lands on " +
    "`channel` (default draft; ga needs registry:admin). Versions are immutable.",
  request: {
    query: z.object({
      channel: Channel.optional(),
      source: z.string().url().max(2048).optional().describe("Where its source lives"),
      changelog: z.string().max(8192).optional().describe("What changed in this version"),
    }),
    body: {
      required: true,
      content: { "application/wasm": { schema: z.string().openapi({ format: "binary" }) } },
    },
  },
  responses: {
    201: json(Version, "Published (or the same bytes were already published)"),
    403: problemContent("ga without registry:admin"),
    409: problemContent("The version is published with other bytes"),
    422: problemContent("Unsigned, tampered, untrusted, bad manifest, or does not load"),
  },
});

export const downloadArtifact = defineRoute("public", {
  method: "get",
  path: "/v1/registry/artifacts/{digest}",
  tags: ["registry"],
  summary: "Download a published plugin file by digest (yanked ones too)",
  request: { params: z.object({ digest: Digest }) },
  responses: {
    200: {
      description: "The plugin file",
      content: { "application/wasm": { schema: z.string().openapi({ format: "binary" }) } },
    },
    404: problemContent("No artifact with that digest"),
  },
});

export const searchPlugins = defineRoute("public", {
  method: "get",
  path: "/v1/registry/plugins",
  tags: ["registry"],
  summary: "Search published plugins (one entry per plugin: its newest visible version)",
  request: {
    query: z.object({
      q: z.string().max(200).optional().describe("Words in the id, name or description"),
      capability: z.string().max(128).optional(),
      host: z.string().max(64).optional().describe("A host version the plugin must run on"),
      verified: z.enum(["true", "false"]).optional().describe("Signer trusted by the registry now"),
      channel: Channel.optional().describe(
        "Least stable channel shown (default ga; draft needs a registry scope)",
      ),
      sort: z.enum(["id", "name", "updated"]).optional(),
      limit: z.coerce.number().int().min(1).max(100).optional(),
      cursor: z.string().max(1024).optional(),
    }),
  },
  responses: {
    200: json(
      z.object({ plugins: z.array(Summary), nextCursor: z.string().nullable() }),
      "A page of plugins",
    ),
  },
});

export const pluginVersions = defineRoute("public", {
  method: "get",
  path: "/v1/registry/plugins/{id}",
  tags: ["registry"],
  summary: "A plugin's page: its versions on a channel, newest first, with provenance",
  request: {
    params: z.object({ id: PluginId }),
    query: z.object({ channel: Channel.optional() }),
  },
  responses: {
    200: json(z.object({ id: z.string(), versions: z.array(Version) }), "The versions"),
    404: problemContent("Not published on that channel"),
  },
});

const VersionParams = z.object({ id: PluginId, version: z.string().min(1).max(100) });

export const promoteVersion = defineRoute("registry:admin", {
  method: "post",
  path: "/v1/registry/plugins/{id}/versions/{version}/promote",
  tags: ["registry"],
  summary: "Promote a version to a more stable channel (draft -> beta -> ga)",
  request: {
    params: VersionParams,
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ channel: Channel }) } },
    },
  },
  responses: {
    200: json(Version, "Promoted"),
    404: problemContent("Not published"),
    409: problemContent("Yanked, or not a promotion"),
  },
});

export const yankVersion = defineRoute("registry:admin", {
  method: "post",
  path: "/v1/registry/plugins/{id}/versions/{version}/yank",
  tags: ["registry"],
  summary: "Yank a version: installs no longer choose it; its digest stays downloadable",
  request: {
    params: VersionParams,
    body: {
      required: true,
      content: {
        "application/json": { schema: z.object({ reason: z.string().min(1).max(1000) }) },
      },
    },
  },
  responses: { 200: json(Version, "Yanked"), 404: problemContent("Not published") },
});

/** The registry's routes over `service`. */
export function registryRoutes(service: RegistryService): RouteModule {
  return {
    name: "registry",
    register(app, deps) {
      app.openapi(guarded(app, publishArtifact), async (c) => {
        requireMediaType(c, ["application/wasm", "application/octet-stream"]);
        const wasm = await readBody(c, deps.options.maxUploadBytes);
        const { channel, source, changelog } = c.req.valid("query");
        const token = c.get("token")!;
        const version = await service.publish(wasm, {
          channel: channel ?? "draft",
          sourceUrl: source,
          changelog,
          publisher: token.name,
          admin: grants(token, "registry:admin"),
        });
        deps.log(
          `published ${version.pluginId}@${version.version} to ${version.channel} by '${token.name}'`,
        );
        return c.json(version, 201);
      });
      app.openapi(guarded(app, downloadArtifact), async (c) => {
        const bytes = await service.download(c.req.valid("param").digest);
        return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
          "content-type": "application/wasm",
          "cache-control": "public, max-age=31536000, immutable",
        });
      });
      app.openapi(guarded(app, searchPlugins), async (c) => {
        const q = c.req.valid("query");
        if (q.channel === "draft") requireDraftReader(c);
        const page = await service.search({
          ...q,
          verified: q.verified === undefined ? undefined : q.verified === "true",
        });
        return c.json(page, 200);
      });
      app.openapi(guarded(app, pluginVersions), async (c) => {
        const { id } = c.req.valid("param");
        const { channel } = c.req.valid("query");
        if (channel === "draft") requireDraftReader(c);
        return c.json({ id, versions: await service.versions(id, channel ?? "ga") }, 200);
      });
      app.openapi(guarded(app, promoteVersion), async (c) => {
        const { id, version } = c.req.valid("param");
        return c.json(await service.promote(id, version, c.req.valid("json").channel), 200);
      });
      app.openapi(guarded(app, yankVersion), async (c) => {
        const { id, version } = c.req.valid("param");
        return c.json(await service.yank(id, version, c.req.valid("json").reason), 200);
      });
    },
  };
}

/** Drafts are for their publishers and curators: a token with a registry scope. */
function requireDraftReader(c: Context<AppEnv>): void {
  const token = c.get("token");
  if (!token || !grants(token, "registry:publish")) {
    throw new HostError(
      token ? "forbidden" : "unauthorized",
      "The draft channel needs a token with scope registry:publish or registry:admin",
    );
  }
}
