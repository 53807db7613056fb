/**
 * HTTP through Extism's http_request and the host's gate: an allowed
 * loopback server (the policy allows 127.0.0.0/8 here), a disallowed host, a
 * redirect from allowed to disallowed, the size cap, and network failures
 * (refused connection, redirect loop, slow answer) as `network_error`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outputOf, type TestHost, testHost } from "./harness.ts";
import { ops, probeWasm, signedProbe } from "./probe.ts";

describe("HTTP", () => {
  let t: TestHost;
  let server: Server;
  let port = 0;
  let hits: string[] = [];
  let closedPort = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? "");
      if (req.url === "/ok") return void res.end("hello from loopback");
      if (req.url === "/hop") return void res.writeHead(302, { location: "/ok" }).end();
      if (req.url === "/out") {
        return void res.writeHead(302, { location: `http://localhost:${port}/ok` }).end();
      }
      if (req.url === "/big") return void res.end("x".repeat(5000));
      if (req.url === "/slow") return void res.writeHead(200).write("never finished");
      if (req.url === "/loop") return void res.writeHead(302, { location: "/loop" }).end();
      if (req.url === "/hang") return;
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    await probeWasm();
    t = await testHost({
      policy: { httpMaxBytes: 1000, httpTimeoutMs: 500, httpMaxRedirects: 3 },
      egress: { allowNetworks: ["127.0.0.0/8"] },
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await t.host.runtime.load(
      await signedProbe(t.key, "t.http", {
        http: { allowedHosts: [`127.0.0.1:${port}`, `127.0.0.1:${closedPort}`] },
      }),
      "test",
    );
    await t.host.runtime.load(await signedProbe(t.key, "t.nohttp", {}), "test");
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    server?.closeAllConnections();
    server?.close();
  });

  it("reaches an allowed loopback server, and follows a redirect within the allowed hosts", async () => {
    hits = [];
    const out = outputOf(
      await t.call(
        "t.http",
        "run",
        ops({ http: `http://127.0.0.1:${port}/ok` }, { http: `http://127.0.0.1:${port}/hop` }),
      ),
    );
    expect(out).toEqual([
      { status: 200, body: "hello from loopback" },
      { status: 200, body: "hello from loopback" },
    ]);
    expect(hits).toEqual(["/ok", "/hop", "/ok"]);
  });

  it("refuses a host outside allowedHosts before any request, audited", async () => {
    hits = [];
    const result = await t.call("t.http", "run", ops({ http: `http://localhost:${port}/ok` }));
    expect(result.ok ? "ok" : result.error.class).toBe("permission_denied");
    expect(hits).toEqual([]);
    const audit = (await t.events({ type: "audit.denied" })).filter((e) =>
      e.runId === result.runId
    );
    expect(audit.map((e) => e.payload)).toEqual([
      expect.objectContaining({
        function: "http_request",
        asked: { host: `localhost:${port}`, hop: "0" },
      }),
    ]);
  });

  it("refuses a redirect from an allowed host to a disallowed one, audited", async () => {
    hits = [];
    const result = await t.call("t.http", "run", ops({ http: `http://127.0.0.1:${port}/out` }));
    expect(result.ok ? "ok" : result.error.class).toBe("permission_denied");
    expect(result.ok ? "" : result.error.message).toContain("(redirect 1)");
    expect(hits).toEqual(["/out"]);
    const audit = (await t.events({ type: "audit.denied" })).filter((e) =>
      e.runId === result.runId
    );
    expect(audit.map((e) => e.payload)).toEqual([
      expect.objectContaining({ asked: { host: `localhost:${port}`, hop: "1" } }),
    ]);
  });

  it("does not hand the plugin a body over the size cap", async () => {
    const out = outputOf(
      await t.call("t.http", "run", ops({ http: `http://127.0.0.1:${port}/big` })),
    );
    expect(JSON.stringify(out)).not.toContain("x".repeat(1001));
  });

  it("ends a response that does not finish within the host's HTTP time cap", async () => {
    const result = await t.call("t.http", "run", ops({ http: `http://127.0.0.1:${port}/slow` }));
    // The plugin gets no body: the cap aborts the exchange long before the call's own timeout.
    const text = result.ok ? JSON.stringify(outputOf(result)) : result.error.message;
    expect(text).not.toContain("never finished");
    if (!result.ok) expect(result.error.class).not.toBe("timeout");
  });

  it("answers network_error (HTTP 502), not trap, for a refused connection, a redirect loop and a hung server", async () => {
    for (const url of [`http://127.0.0.1:${closedPort}/`, `http://127.0.0.1:${port}/loop`]) {
      const result = await t.call("t.http", "run", ops({ http: url }));
      expect(result.ok ? "ok" : result.error.class).toBe("network_error");
    }
    const hung = await t.call("t.http", "run", ops({ http: `http://127.0.0.1:${port}/hang` }));
    expect(hung.ok ? "ok" : hung.error.class).toBe("network_error");
    expect(hung.ok ? "" : hung.error.message).toContain("500 ms");
  });

  it("gives a plugin without permissions.http no response (network_error)", async () => {
    hits = [];
    const result = await t.call("t.nohttp", "run", ops({ http: `http://127.0.0.1:${port}/ok` }));
    // Node's Extism answers in the kernel (no response: the SDK's network_error); Deno's refuses
    // the call (permission_denied). Either way nothing is reached.
    if (result.ok) {
      expect(outputOf(result)).toMatchObject([{ error: expect.stringContaining("network_error") }]);
    } else expect(result.error.class).toBe("permission_denied");
    expect(hits).toEqual([]);
    // Extism's kernel answers it without calling the host, so no host code path sees it, and
    // audit events come only from host code paths (never from the plugin's log text).
  });
});
