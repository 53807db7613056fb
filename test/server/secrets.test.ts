/**
 * The secrets routes: admin only, a value in and never out, names and
 * versions listed, a running host's next run reads a set value, and a server
 * without PLUGHOST_SECRETS_KEY answers 409 saying so.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../host/server/app.ts";
import type { ServerApp } from "../../host/server/context.ts";
import { TokensRepository } from "../../host/store/mod.ts";
import { outputOf, type TestHost, testHost } from "../capabilities/harness.ts";
import { ops, probeWasm, signedProbe } from "../capabilities/probe.ts";

const KEY = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
const VALUE = `http-${crypto.randomUUID()}`;

describe("secrets routes", () => {
  let t: TestHost;
  let app: ServerApp;
  let keyless: ServerApp;
  const tokens = { admin: "", read: "" };
  const call = (target: ServerApp, path: string, token: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${token}`);
    if (init.body !== undefined) headers.set("content-type", "application/json");
    return Promise.resolve(target.request(path, { ...init, headers }));
  };

  beforeAll(async () => {
    await probeWasm();
    t = await testHost({ secretsKey: () => KEY, secretsCacheMs: 0 });
    await t.host.runtime.load(await signedProbe(t.key, "t.web", { secrets: ["API_TOKEN"] }), "t");
    const repo = new TokensRepository(t.host.store.db);
    tokens.admin = (await repo.create({ name: "ops", scopes: ["admin"] })).token;
    tokens.read = (await repo.create({ name: "r", scopes: ["read"] })).token;
    const parts = { host: t.host };
    app = createApp({ ...parts, options: { rateLimitPerSecond: 0 }, secretsKey: () => KEY }).app;
    keyless = createApp({ ...parts, options: { rateLimitPerSecond: 0 } }).app;
  }, 120_000);
  afterAll(async () => await t?.close());

  it("sets (admin only) without returning the value; the next run reads it; lists names", async () => {
    const body = JSON.stringify({ value: VALUE });
    const path = "/v1/plugins/t.web/secrets/API_TOKEN";
    expect((await call(app, path, tokens.read, { method: "PUT", body })).status).toBe(403);
    const put = await call(app, path, tokens.admin, { method: "PUT", body });
    const text = await put.text();
    expect(put.status, text).toBe(200);
    expect(JSON.parse(text)).toEqual({ pluginId: "t.web", name: "API_TOKEN", version: 1 });
    expect(text).not.toContain(VALUE);
    const out = outputOf(
      await t.call("t.web", "run", ops({ secretIs: "API_TOKEN", value: VALUE })),
    );
    expect(out).toEqual([{ secretIs: true }]);
    const list = await call(app, "/v1/plugins/t.web/secrets", tokens.admin);
    const listed = await list.text();
    expect(JSON.parse(listed).secrets).toMatchObject([{ name: "API_TOKEN", version: 1 }]);
    expect(listed).not.toContain(VALUE);
    const changed = await t.events({ type: "secret.changed" });
    expect(changed.map((e) => e.payload)).toEqual([
      { name: "API_TOKEN", action: "set", version: 1, by: "http:ops" },
    ]);
  });

  it("deletes (204, then 404); refuses a bad name (400) and a server without the key (409)", async () => {
    const path = "/v1/plugins/t.web/secrets/API_TOKEN";
    expect((await call(app, path, tokens.admin, { method: "DELETE" })).status).toBe(204);
    expect((await call(app, path, tokens.admin, { method: "DELETE" })).status).toBe(404);
    const bad = await call(app, "/v1/plugins/t.web/secrets/bad-name", tokens.admin, {
      method: "PUT",
      body: JSON.stringify({ value: "v" }),
    });
    expect(bad.status).toBe(400);
    const noKey = await call(keyless, path, tokens.admin, {
      method: "PUT",
      body: JSON.stringify({ value: "v" }),
    });
    expect(noKey.status).toBe(409);
    expect(noKey.headers.get("content-type")).toContain("application/problem+json");
    expect(await noKey.text()).toContain("PLUGHOST_SECRETS_KEY is not set");
  });
});
