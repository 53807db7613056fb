/**
 * The auth matrix, generated from the route table (the OpenAPI document's
 * x-plughost-scope on every operation): no token, a wrong scope, the right one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "../../host/server/openapi.ts";
import { SCOPE_EXTENSION } from "../../host/server/route.ts";
import { type Harness, harness, type Tokens } from "./harness.ts";

interface RouteRow {
  method: string;
  path: string;
  scope: string;
}

let h: Harness;
let table: RouteRow[] = [];

beforeAll(async () => {
  // Two refused tokens per route: more than the default burst of failed checks once the
  // route table grows (its own test is in fuzz.test.ts and below with a fresh harness).
  h = await harness({ authFailureBurst: 1000 });
  const doc = openApiDocument(h.app, h.runtime.list());
  const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      table.push({ method: method.toUpperCase(), path, scope: String(op[SCOPE_EXTENSION]) });
    }
  }
  // Destructive routes last, so every other route still finds the plugin.
  const weight = (r: RouteRow) => (r.method === "DELETE" ? 2 : r.path.endsWith("/disable") ? 1 : 0);
  table = table.sort((a, b) => weight(a) - weight(b));
});
afterAll(async () => await h?.close());

const wrong: Record<string, (keyof Tokens)[]> = {
  read: ["invoke", "invokeOther"],
  invoke: ["read", "invokeOther"],
  admin: ["read", "invoke", "invokeOther"],
};
const right: Record<string, keyof Tokens> = { read: "read", invoke: "invoke", admin: "admin" };

function concrete(path: string): string {
  return path.replace("{id}", "example.hello").replace("{name}", "greet");
}

async function request(row: RouteRow, token?: string): Promise<Response> {
  const init: RequestInit & { token?: string } = { method: row.method };
  if (token !== undefined) init.token = token;
  if (row.method === "POST") {
    init.headers = { "content-type": "application/json" };
    init.body = JSON.stringify({ name: "matrix" });
  }
  const res = await h.call(concrete(row.path), init);
  await res.body?.cancel(); // the event stream never ends by itself
  return res;
}

describe("auth matrix from the route table", () => {
  it("has every route of the API, each with a scope", () => {
    const keys = table.map((r) => `${r.method} ${r.path}`);
    for (
      const expected of [
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /openapi.json",
        "GET /v1/plugins",
        "POST /v1/plugins",
        "GET /v1/plugins/{id}",
        "DELETE /v1/plugins/{id}",
        "POST /v1/plugins/{id}/enable",
        "POST /v1/plugins/{id}/disable",
        "POST /v1/plugins/{id}/capabilities/{name}",
        "POST /v1/plugins/example.hello/capabilities/greet",
        "GET /v1/runs",
        "GET /v1/runs/{id}",
        "GET /v1/events",
        "GET /v1/events/stream",
      ]
    ) expect(keys).toContain(expected);
    for (const row of table) expect(["public", "read", "invoke", "admin"]).toContain(row.scope);
    for (const row of table) if (row.path.startsWith("/v1/")) expect(row.scope).not.toBe("public");
  });

  it("answers 401 without a token and with a revoked one, 403 with a wrong scope, and lets the right scope through", async () => {
    for (const row of table) {
      const label = `${row.method} ${row.path}`;
      if (row.scope === "public") {
        expect((await request(row)).status, label).toBeLessThan(400);
        continue;
      }
      const anonymous = await request(row);
      expect(anonymous.status, label).toBe(401);
      expect(anonymous.headers.get("www-authenticate"), label).toContain("Bearer");
      expect((await request(row, h.tokens.revoked)).status, label).toBe(401);
      for (const role of wrong[row.scope]!) {
        expect((await request(row, h.tokens[role])).status, `${label} as ${role}`).toBe(403);
      }
      const ok = await request(row, h.tokens[right[row.scope]!]);
      expect([401, 403], `${label} as ${right[row.scope]}`).not.toContain(ok.status);
      if (row.scope !== "admin") {
        expect([401, 403], `${label} as admin`).not.toContain(
          (await request(row, h.tokens.admin)).status,
        );
      }
    }
  });

  it("refuses a malformed Authorization header", async () => {
    const res = await h.call("/v1/runs", { headers: { authorization: "Basic abc" } });
    expect(res.status).toBe(401);
    expect((await res.json()).detail).toContain("Bearer <token>");
  });
});

describe("rate limit", () => {
  it("answers 429 with Retry-After once a token is over its limit", async () => {
    // Proves: a token gets its burst, then 429 with Retry-After; other tokens are unaffected.
    // One request refilled per 1000 s: however slow the machine, the bucket cannot refill
    // while the test runs (at 1/s a slow run of 5 requests refilled it and got no 429).
    const limited = await harness({ rateLimitPerSecond: 0.001, rateLimitBurst: 3 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        statuses.push((await limited.call("/v1/plugins", { token: limited.tokens.read })).status);
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.at(-1)).toBe(429);
      const res = await limited.call("/v1/plugins", { token: limited.tokens.read });
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect((await res.json()).code).toBe("rate_limited");
      // Another token has its own bucket.
      expect((await limited.call("/v1/plugins", { token: limited.tokens.admin })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
