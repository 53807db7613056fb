/**
 * Egress injection (`permissions.http.inject`): the host adds the secret as a
 * header to the plugin's requests to that host, the plugin never holds it
 * (secret_get is refused, the output cannot carry it back), the header never
 * follows a redirect to another host, and the operator's policy decides.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envSecrets } from "../../host/capabilities/mod.ts";
import { ManifestSchema } from "../../host/manifest/mod.ts";
import { checkManifest, clampPermissions, PolicySchema } from "../../host/policy/mod.ts";
import { outputOf, type TestHost, testHost } from "../capabilities/harness.ts";
import { ops, probeWasm, signedProbe } from "../capabilities/probe.ts";

const TOKEN = `inj-${crypto.randomUUID()}`;

describe("egress injection", () => {
  let t: TestHost;
  let server: Server;
  let other: Server;
  let port = 0;
  let otherPort = 0;
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? "", headers: req.headers });
      if (req.url === "/echo") return void res.end(`you sent ${req.headers.authorization}`);
      if (req.url === "/away") {
        return void res.writeHead(302, { location: `http://127.0.0.1:${otherPort}/x` }).end();
      }
      res.end("ok");
    });
    other = createServer((req, res) => {
      seen.push({ url: `other${req.url}`, headers: req.headers });
      res.end("other");
    });
    for (const s of [server, other]) {
      await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    }
    port = (server.address() as AddressInfo).port;
    otherPort = (other.address() as AddressInfo).port;
    await probeWasm();
    t = await testHost({
      secrets: envSecrets("T_", { T_API_TOKEN: TOKEN, T_BAD: "evil\r\nx-smuggled: 1" }),
      egress: { allowNetworks: ["127.0.0.0/8"] },
    });
    await t.host.runtime.load(
      await signedProbe(t.key, "t.inject", {
        http: {
          allowedHosts: [`127.0.0.1:${port}`, `127.0.0.1:${otherPort}`],
          inject: {
            [`127.0.0.1:${port}`]: {
              header: "authorization",
              secret: "API_TOKEN",
              format: "Bearer {}",
            },
          },
        },
      }),
      "test",
    );
    await t.host.runtime.load(
      await signedProbe(t.key, "t.bad", {
        http: {
          allowedHosts: [`127.0.0.1:${port}`],
          inject: { [`127.0.0.1:${port}`]: { header: "x-key", secret: "BAD" } },
        },
      }),
      "test",
    );
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    for (const s of [server, other]) {
      s?.closeAllConnections();
      s?.close();
    }
  });

  it("adds the header the server sees; the plugin gets its answer without the value", async () => {
    seen.length = 0;
    const out = outputOf(
      await t.call("t.inject", "run", ops({ http: `http://127.0.0.1:${port}/ok` })),
    );
    expect(out).toEqual([{ status: 200, body: "ok" }]);
    expect(seen.map((s) => s.headers.authorization)).toEqual([`Bearer ${TOKEN}`]);
    const audit = await t.events({ type: "secret.injected" });
    expect(audit.map((e) => e.payload)).toEqual([
      { name: "API_TOKEN", provider: "env", host: `127.0.0.1:${port}` },
    ]);
  });

  it("refuses secret_get of an injected secret the manifest does not also declare", async () => {
    const out = outputOf(
      await t.call("t.inject", "run", ops({ fn: "secret_get", req: { name: "API_TOKEN" } })),
    ) as { error: { code: string } }[];
    expect(out[0]!.error.code).toBe("permission_denied");
  });

  it("cannot carry the value back: a server that echoes it reaches the caller redacted", async () => {
    const result = await t.call("t.inject", "run", ops({ http: `http://127.0.0.1:${port}/echo` }));
    expect(outputOf(result)).toEqual([{ status: 200, body: "you sent Bearer [redacted]" }]);
  });

  it("refuses to send a value with a line break (no header smuggling), without quoting it", async () => {
    seen.length = 0;
    const result = await t.call("t.bad", "run", ops({ http: `http://127.0.0.1:${port}/ok` }));
    const text = JSON.stringify(result.ok ? outputOf(result) : result.error);
    expect(text).toContain("holds a line break or NUL");
    expect(text).not.toContain("smuggled");
    expect(seen).toEqual([]);
  });

  it("never sends the header to another host, not even after a redirect", async () => {
    seen.length = 0;
    const out = outputOf(
      await t.call(
        "t.inject",
        "run",
        ops({ http: `http://127.0.0.1:${otherPort}/direct` }, {
          http: `http://127.0.0.1:${port}/away`,
        }),
      ),
    );
    expect(out).toEqual([{ status: 200, body: "other" }, { status: 200, body: "other" }]);
    expect(seen.map((s) => [s.url, s.headers.authorization])).toEqual([
      ["other/direct", undefined],
      ["/away", `Bearer ${TOKEN}`],
      ["other/x", undefined],
    ]);
  });
});

describe("secret.injected events per run", () => {
  let t: TestHost;
  let server: Server;
  let port = 0;
  let headers: (string | undefined)[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      headers.push(req.headers.authorization);
      res.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    await probeWasm();
    t = await testHost({
      secrets: envSecrets("T_", { T_API_TOKEN: TOKEN }),
      egress: { allowNetworks: ["127.0.0.0/8"] },
      policy: { injectedPerRun: 3 },
    });
    await t.host.runtime.load(
      await signedProbe(t.key, "t.many", {
        http: {
          allowedHosts: [`127.0.0.1:${port}`],
          inject: { [`127.0.0.1:${port}`]: { header: "authorization", secret: "API_TOKEN" } },
        },
      }),
      "test",
    );
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    server?.closeAllConnections();
    server?.close();
  });

  it("writes at most the budget, counts the rest in one event, and still injects", async () => {
    headers = [];
    const url = `http://127.0.0.1:${port}/ok`;
    const result = await t.call("t.many", "run", {
      ops: Array.from({ length: 8 }, () => ({ http: url })),
    });
    expect(outputOf(result)).toHaveLength(8);
    expect(headers).toEqual(Array(8).fill(TOKEN));
    const written = await t.events({ type: "secret.injected", runId: result.runId });
    expect(written).toHaveLength(3);
    const dropped = await t.events({ type: "secret.injected_dropped", runId: result.runId });
    expect(dropped.map((e) => [e.source, e.payload])).toEqual([["host", { dropped: 5, limit: 3 }]]);
  });
});

describe("injection in the manifest and the operator's policy", () => {
  const manifest = (http: Record<string, unknown>) => ({
    schemaVersion: 1,
    id: "t.inject",
    version: "1.0.0",
    name: "t",
    engines: { host: "^0.1.0", abi: 1 },
    capabilities: {},
    permissions: { http },
  });
  const inject = { "api.example.com": { header: "authorization", secret: "API_TOKEN" } };

  it("refuses an injection for a host not in allowedHosts, or a reserved header", () => {
    const missing = ManifestSchema.safeParse(manifest({ allowedHosts: [], inject }));
    expect(missing.success).toBe(false);
    expect(JSON.stringify(missing.error?.issues)).toContain("must also be listed");
    const reserved = ManifestSchema.safeParse(manifest({
      allowedHosts: ["api.example.com"],
      inject: { "api.example.com": { header: "Host", secret: "API_TOKEN" } },
    }));
    expect(reserved.success).toBe(false);
    const noSlot = ManifestSchema.safeParse(manifest({
      allowedHosts: ["api.example.com"],
      inject: { "api.example.com": { header: "x-key", secret: "API_TOKEN", format: "Bearer" } },
    }));
    expect(noSlot.success).toBe(false);
  });

  it("is an excess when the policy does not allow the secret; clamp mode drops it", () => {
    const parsed = ManifestSchema.parse(manifest({ allowedHosts: ["api.example.com"], inject }));
    const policy = PolicySchema.parse({
      schemaVersion: 1,
      defaults: { mode: "clamp", http: { hosts: ["*"] }, secrets: ["OTHER"] },
    });
    const report = checkManifest(policy, parsed);
    expect(report.excesses).toEqual([{
      field: 'permissions.http.inject["api.example.com"].secret',
      requested: "API_TOKEN",
      allowed: "OTHER",
      clamp: "dropped",
    }]);
    expect(clampPermissions(report.caps, parsed.permissions)?.http).toEqual({
      allowedHosts: ["api.example.com"],
      inject: {},
    });
    const allowed = PolicySchema.parse({
      schemaVersion: 1,
      defaults: { http: { hosts: ["*"] }, secrets: ["API_TOKEN"] },
    });
    expect(checkManifest(allowed, parsed).fits).toBe(true);
    expect(clampPermissions(checkManifest(allowed, parsed).caps, parsed.permissions)?.http)
      .toEqual({ allowedHosts: ["api.example.com"], inject });
  });
});
