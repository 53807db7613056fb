/**
 * `GET/PUT/PATCH /v1/plugins/{id}/config` on a real app over a real host:
 * admin only, secret fields redacted in answers, a value off the schema is a
 * 422 problem naming the field by JSON Pointer (nothing stored), PUT
 * replaces and PATCH merges (null removes), and the next capability call
 * sees the change, after the plugin's onConfigChange hook ran once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../host/server/app.ts";
import type { ServerApp } from "../../host/server/context.ts";
import { type TestHost, testHost } from "../capabilities/harness.ts";

const ID = "example.configured";
const base = `/v1/plugins/${ID}/config`;

describe("HTTP plugin config", () => {
  let t: TestHost;
  let app: ServerApp;
  let admin: string;
  let read: string;
  beforeAll(async () => {
    t = await testHost();
    await t.load("configured");
    admin = (await t.host.store.tokens.create({ name: "ops", scopes: ["admin"] })).token;
    read = (await t.host.store.tokens.create({ name: "viewer", scopes: ["read", "invoke"] })).token;
    app = createApp({ host: t.host, options: { rateLimitPerSecond: 0 } }).app;
  }, 120_000);
  afterAll(async () => await t?.close());

  const request = (path: string, token: string, method = "GET", body?: unknown) =>
    Promise.resolve(app.request(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }));
  const greet = async () => {
    const res = await request(`/v1/plugins/${ID}/capabilities/greet`, read, "POST", {
      name: "Ada",
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { message: string }).message;
  };

  it("needs scope admin; shows the effective config with the default", async () => {
    expect((await request(base, read)).status).toBe(403);
    expect((await request(base, read, "PUT", { greeting: "x" })).status).toBe(403);
    const res = await request(base, admin);
    expect(res.status).toBe(200);
    const view = await res.json() as Record<string, unknown>;
    expect(view).toMatchObject({
      pluginId: ID,
      env: null,
      effective: { greeting: "Hello", smtp: { host: "localhost", port: 25 } },
      base: null,
      overlay: null,
    });
    expect((await request("/v1/plugins/no.such/config", admin)).status).toBe(404);
  });

  it("refuses a value off the schema with 422 naming the field, storing nothing", async () => {
    const res = await request(base, admin, "PATCH", { smtp: { port: 70000 } });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const problem = await res.json() as { type: string; detail: string; errors: unknown[] };
    expect(problem.type).toMatch(/invalid_config$/);
    expect(problem.detail).toContain("/smtp/port must be <= 65535");
    expect(problem.errors).toEqual([{ path: "/smtp/port", message: "must be <= 65535" }]);
    expect(await t.host.store.config.latestSeq(ID)).toBe(0);
    expect(await greet()).toBe("Hello, Ada!");
  });

  it("PUT replaces, PATCH merges (null removes); the next call sees it; secrets are redacted", async () => {
    const put = await request(base, admin, "PUT", { greeting: "Hey", apiKey: "sk-http-secret" });
    expect(put.status).toBe(200);
    const changed = await put.json() as Record<string, unknown>;
    expect(changed).toMatchObject({
      version: 1,
      changed: ["apiKey", "greeting"],
      values: { greeting: "Hey", apiKey: "[redacted]" },
      changedBy: "http:ops",
    });
    expect(await greet()).toBe("Hey, Ada!");
    const patch = await request(base, admin, "PATCH", { smtp: { port: 2525 }, apiKey: null });
    expect(await patch.json()).toMatchObject({
      version: 2,
      changed: ["apiKey", "smtp.port"],
      values: { greeting: "Hey", smtp: { port: 2525 } },
    });
    const view = await (await request(base, admin)).json() as Record<string, unknown>;
    expect(view.effective).toEqual({ greeting: "Hey", smtp: { host: "localhost", port: 2525 } });
    const history = await (await request(`${base}/history`, admin)).json() as {
      versions: { version: number; values: Record<string, unknown> }[];
    };
    expect(history.versions.map((v) => v.version)).toEqual([2, 1]);
    expect(history.versions[1]!.values.apiKey).toBe("[redacted]");
    // The hook ran once per change, here, at the change.
    const changes = await request(`/v1/plugins/${ID}/capabilities/changes`, read, "POST", {});
    expect(await changes.json()).toBe(2);
  });

  it("an overlay is stored per environment and shown with ?env=", async () => {
    const res = await request(`${base}?env=production`, admin, "PATCH", { greeting: "Prod" });
    expect(res.status).toBe(200);
    const view = await (await request(`${base}?env=production`, admin)).json() as Record<
      string,
      unknown
    >;
    expect(view).toMatchObject({ env: "production", effective: { greeting: "Prod" } });
    // This host has no environment: the base still applies to its runs.
    expect(await greet()).toBe("Hey, Ada!");
    const bad = await request(`${base}?env=no%20spaces`, admin, "PATCH", { greeting: "x" });
    expect(bad.status).toBe(400);
  });
});
