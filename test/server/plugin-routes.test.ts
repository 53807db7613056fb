/**
 * Plugin HTTP routes under /p/{pluginId}/ with the example.webhook plugin:
 * params, query and body are checked before any run (no RunRecord for a
 * refused request), public and scoped auth, the per-route rate limit, 404
 * and 405, each request one run with trigger `route`, and conflicting
 * routes refused at install and at signing.
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { appendCustomSection, MANIFEST_SECTION } from "../../host/artifact/mod.ts";
import { createRuntime } from "../../host/core/mod.ts";
import { signPlugin } from "../../host/trust/mod.ts";
import { firstPartyPlugin, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";
import { type Harness, harness, jsonBody } from "./harness.ts";

const hook = "/p/example.webhook/hooks";

async function runCount(h: Harness): Promise<number> {
  return (await h.store.runs.list({ pluginId: "example.webhook", limit: 1000 })).runs.length;
}

describe("plugin routes (example.webhook)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({}, { hostFunctions: capabilityProvider() });
    await h.runtime.load(await signedFirstParty("webhook", h.key), "test");
  });
  afterAll(async () => await h.close());

  it("answers a public route without a token; the request is one run with trigger route", async () => {
    const res = await h.call(`${hook}/github`, {
      ...jsonBody({ event: "push", data: { ref: "main" } }),
      headers: { "content-type": "application/json", "x-webhook-delivery": "d-1" },
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ received: true, source: "github", count: 1 });
    const run = await h.store.runs.get(res.headers.get("x-run-id")!);
    expect(run).toMatchObject({ trigger: "route", capability: "receive", status: "ok" });
  });

  it("refuses bad params, query and body naming the field, before any run", async () => {
    const before = await runCount(h);
    const params = await h.call(`${hook}/Not_OK`, jsonBody({ event: "push" }));
    expect(params.status).toBe(400);
    expect(params.headers.get("content-type")).toContain("application/problem+json");
    const paramsProblem = await params.json();
    expect(paramsProblem.detail).toContain("/params/source");
    expect(paramsProblem.errors[0].path).toBe("/params/source");

    const body = await h.call(`${hook}/github`, jsonBody({ data: {} }));
    expect(body.status).toBe(422);
    const bodyProblem = await body.json();
    expect(bodyProblem.code).toBe("schema_mismatch");
    expect(bodyProblem.errors).toContainEqual(
      expect.objectContaining({ path: "/body/event" }),
    );
    const extra = await h.call(`${hook}/github`, jsonBody({ event: "push", colour: "red" }));
    expect(extra.status).toBe(422);
    expect((await extra.json()).detail).toContain("/body/colour");

    const notJson = await h.call(`${hook}/github`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{event",
    });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).code).toBe("invalid_json");
    const noBody = await h.call(`${hook}/github`, { method: "POST" });
    expect(noBody.status).toBe(400);
    expect((await noBody.json()).errors[0].path).toBe("/body");

    const query = await h.call(`${hook}/github/latest?data=maybe`, { token: h.tokens.read });
    expect(query.status).toBe(400);
    expect((await query.json()).detail).toContain("/query/data must be boolean");
    const unknown = await h.call(`${hook}/github/latest?colour=red`, { token: h.tokens.read });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).detail).toContain("/query/colour");
    const stray = await h.call(`${hook}/github?x=1`, jsonBody({ event: "push" }));
    expect(stray.status).toBe(400);
    expect(await stray.json()).toMatchObject({
      detail: expect.stringContaining("Unknown query parameter 'x'"),
      unknown: ["x"],
      accepted: [],
    });

    expect(await runCount(h)).toBe(before);
  });

  it("needs a token with one of a scoped route's scopes: 401 without, 403 without the scope", async () => {
    const before = await runCount(h);
    const anonymous = await h.call(`${hook}/github/latest`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toContain("Bearer");
    const invokeOnly = await h.call(`${hook}/github/latest`, { token: h.tokens.invoke });
    expect(invokeOnly.status).toBe(403);
    expect((await invokeOnly.json()).detail).toContain("read");
    expect(await runCount(h)).toBe(before);

    const ok = await h.call(`${hook}/github/latest`, { token: h.tokens.read });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      source: "github",
      count: 1,
      event: "push",
      delivery: "d-1",
      data: { ref: "main" },
    });
    // The query is coerced to the schema's types: "false" reaches the plugin as false.
    const noData = await h.call(`${hook}/github/latest?data=false`, { token: h.tokens.admin });
    expect(await noData.json()).not.toHaveProperty("data");
    const missing = await h.call(`${hook}/gitlab/latest`, { token: h.tokens.read });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "no delivery from 'gitlab' yet" });
  });

  it("keeps a route's capability off the generic capability call for all but admin tokens", async () => {
    const path = "/v1/plugins/example.webhook/capabilities/receive";
    const forged = {
      method: "POST",
      path: "/hooks/Forged!",
      route: "/hooks/:source",
      params: { source: "Forged!" },
      query: {},
      headers: {},
      body: { event: "x" },
    };
    const refused = await h.call(path, { ...jsonBody(forged), token: h.tokens.invoke });
    expect(refused.status).toBe(403);
    expect((await refused.json()).detail).toContain(
      "answers HTTP routes: call it through POST /p/example.webhook/hooks/:source",
    );
    const admin = await h.call(path, { ...jsonBody(forged), token: h.tokens.admin });
    expect(admin.status).toBe(200);
    const doc = await (await h.call("/openapi.json")).json();
    expect(doc.paths[path].post["x-plughost-scope"]).toBe("admin");
  });

  it("answers 404 for an unknown route or plugin and 405 with Allow for another method", async () => {
    const none = await h.call("/p/example.webhook/nothing");
    expect(none.status).toBe(404);
    expect((await none.json()).code).toBe("route_not_found");
    const noPlugin = await h.call("/p/example.absent/hooks/github");
    expect(noPlugin.status).toBe(404);
    const method = await h.call(`${hook}/github`, { method: "GET" });
    expect(method.status).toBe(405);
    expect(method.headers.get("allow")).toBe("POST");
  });

  it("lists the routes in /openapi.json with their schemas and security", async () => {
    const doc = await (await h.call("/openapi.json")).json();
    const post = doc.paths["/p/example.webhook/hooks/{source}"].post;
    expect(post.security).toEqual([]);
    expect(post.requestBody.content["application/json"].schema.required).toEqual(["event"]);
    expect(post.parameters).toContainEqual(
      expect.objectContaining({ name: "source", in: "path", required: true }),
    );
    expect(post.responses["429"]).toBeDefined();
    const get = doc.paths["/p/example.webhook/hooks/{source}/latest"].get;
    expect(get.security).toEqual([{ bearerAuth: [] }]);
    expect(get.parameters).toContainEqual(
      expect.objectContaining({
        name: "data",
        in: "query",
        schema: { type: "boolean", description: expect.any(String) },
      }),
    );
  });
});

describe("a route's rate limit", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({}, { hostFunctions: capabilityProvider() });
    const wasm = await signedFirstParty("webhook", h.key, (manifest) => {
      const routes = manifest.routes as { rateLimit?: unknown }[];
      routes[0]!.rateLimit = { requests: 2, perSeconds: 3600 };
    });
    await h.runtime.load(wasm, "test");
  });
  afterAll(async () => await h.close());

  it("answers 429 with Retry-After past it, without a run", async () => {
    for (let i = 0; i < 2; i++) {
      expect((await h.call(`${hook}/a`, jsonBody({ event: "e" }))).status).toBe(202);
    }
    const before = await runCount(h);
    const over = await h.call(`${hook}/a`, jsonBody({ event: "e" }));
    expect(over.status).toBe(429);
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await over.json()).detail).toContain("2 per 3600 s");
    expect(await runCount(h)).toBe(before);
  });
});

describe("conflicting routes", () => {
  const conflicting = (edit: (routes: Record<string, unknown>[]) => void) => {
    const { wasm, manifest } = firstPartyPlugin("webhook");
    const parsed = JSON.parse(manifest) as { routes: Record<string, unknown>[] };
    edit(parsed.routes);
    return { wasm, manifest: JSON.stringify(parsed) };
  };

  it("are refused at install with a message naming both routes", async () => {
    const h = await harness();
    try {
      const { wasm, manifest } = conflicting((routes) => {
        routes.push({ ...routes[0], path: "/hooks/:name" });
      });
      const module = appendCustomSection(
        wasm,
        MANIFEST_SECTION,
        new TextEncoder().encode(manifest),
      );
      // Dev mode lets an unsigned module through to the manifest check (signing refuses it).
      const dev = createRuntime({
        store: h.store,
        trust: trustStoreOf(h.key),
        allowUnsigned: true,
      });
      const refused = await dev.load(module, "test").then(() => undefined, (e) => e);
      await dev.close();
      expect(refused?.code).toBe("verification_failed");
      expect(refused?.message).toContain(
        "routes.2.path: POST /hooks/:name conflicts with routes[0] (POST /hooks/:source)",
      );
    } finally {
      await h.close();
    }
  });

  it("are refused at signing, also when only ambiguous (a literal against a parameter)", async () => {
    const h = await harness();
    try {
      const { wasm, manifest } = conflicting((routes) => {
        routes.push({ ...routes[0], path: "/hooks/github" });
        routes.push({ ...routes[1], method: "POST" }); // other path length: no conflict
      });
      const refused = await signPlugin(wasm, h.key, { manifest }).then(() => undefined, (e) => e);
      expect(refused?.message).toContain("POST /hooks/github conflicts with routes[0]");
      expect(refused?.message).not.toContain("routes[1]");
    } finally {
      await h.close();
    }
  });
});
