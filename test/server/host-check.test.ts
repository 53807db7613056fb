/**
 * The Host header check against DNS rebinding (docs/http-api.md#host-header-check):
 * the decision for loopback and other binds, the operator's names and "any", and a
 * real server on 127.0.0.1 asked with raw requests (fetch will not send another Host).
 */
import { connect } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allowedHostsOption } from "../../host/cli/serve-hosts.ts";
import { createHost, type Host } from "../../host/host.ts";
import {
  AllowedHostName,
  type AllowedHosts,
  hostCheckFor,
  hostOfHeader,
} from "../../host/server/host-check.ts";
import { type RunningServer, startServer } from "../../host/server/start.ts";

const names = (...raw: string[]) => raw.map((n) => AllowedHostName.parse(n));
const accepted = (bound: string, allowed: AllowedHosts, header: string | undefined) =>
  hostCheckFor(bound, allowed)?.verdict(header).accepted ?? "unchecked";

describe("the Host decision", () => {
  it("on a loopback bind accepts loopback names with any port and refuses others", () => {
    for (const bound of ["127.0.0.1", "127.0.0.2", "::1", "localhost"]) {
      for (
        const host of [
          "localhost",
          "localhost:8787",
          "LocalHost.:1",
          "app.localhost:3000",
          "127.0.0.1:8787",
          "127.9.8.7",
          "[::1]:8787",
          "[0:0:0:0:0:0:0:1]",
          "[::ffff:127.0.0.1]:80",
        ]
      ) {
        expect(accepted(bound, [], host), `${bound} ${host}`).toBe(true);
      }
      for (
        const host of ["evil.example", "evil.example:8787", "localhost.evil.example", "10.0.0.5"]
      ) {
        expect(hostCheckFor(bound)?.verdict(host), `${bound} ${host}`).toMatchObject({
          accepted: false,
          reason: "not_allowed",
        });
      }
    }
    // No Host (HTTP/1.0) is no browser, the only client a rebinding drives.
    expect(accepted("127.0.0.1", [], undefined)).toBe(true);
  });

  it("accepts the IP literal the server is bound to", () => {
    expect(accepted("127.0.0.1", [], "127.0.0.1:1")).toBe(true);
    expect(accepted("10.0.0.5", names("api.example.com"), "10.0.0.5:8787")).toBe(true);
    expect(accepted("fd00::5", names("api.example.com"), "[FD00:0::5]:8787")).toBe(true);
    expect(accepted("10.0.0.5", names("api.example.com"), "10.0.0.6:8787")).toBe(false);
  });

  it("adds the operator's names: exact, or a domain and its subdomains with a leading dot", () => {
    const allowed = names("PlugHost.Internal.", ".example.com", "10.1.2.3", "::1");
    expect(allowed).toEqual(["plughost.internal", ".example.com", "10.1.2.3", "[::1]"]);
    for (
      const host of [
        "plughost.internal:8787",
        "PLUGHOST.INTERNAL.",
        "example.com",
        "api.example.com:443",
        "10.1.2.3:80",
        "localhost",
      ]
    ) {
      expect(accepted("127.0.0.1", allowed, host), host).toBe(true);
    }
    for (const host of ["evil.example", "badexample.com", "example.com.evil", "internal"]) {
      expect(accepted("127.0.0.1", allowed, host), host).toBe(false);
    }
  });

  it("on another bind checks nothing unless the operator names hosts", () => {
    expect(hostCheckFor("0.0.0.0")).toBeUndefined();
    expect(hostCheckFor("::")).toBeUndefined();
    expect(hostCheckFor("10.0.0.5", [])).toBeUndefined();
    const check = hostCheckFor("0.0.0.0", names("api.example.com"))!;
    expect(check.loopback).toBe(false);
    expect(check.verdict("api.example.com:443").accepted).toBe(true);
    expect(check.verdict("0.0.0.0:8787").accepted).toBe(true);
    // A check on the machine itself (curl localhost/healthz) still works.
    expect(check.verdict("localhost:8787").accepted).toBe(true);
    expect(check.verdict("evil.example").accepted).toBe(false);
    expect(check.verdict("10.0.0.5").accepted).toBe(false);
  });

  it('checks nothing under "any", whatever the bind', () => {
    expect(hostCheckFor("127.0.0.1", "any")).toBeUndefined();
    expect(hostCheckFor("0.0.0.0", "any")).toBeUndefined();
  });

  it("calls a Host that is no host[:port] malformed", () => {
    for (
      const host of [
        "",
        "evil example",
        "a,b",
        "a..b",
        ".a",
        "a:99999",
        "a:80:80",
        "[zz::1]",
        "[::1",
        "::1",
        "user@host",
        "host/path",
      ]
    ) {
      expect(hostOfHeader(host), host).toBeUndefined();
      expect(hostCheckFor("127.0.0.1")!.verdict(host), host).toMatchObject({
        accepted: false,
        reason: "malformed",
      });
    }
    expect(hostOfHeader("Example.COM.:")).toBe("example.com");
  });

  it("refuses operator names with a scheme, a port or a wildcard", () => {
    for (const raw of ["http://x", "x:8080", "*", "*.example.com", "", "..x", ".[::1]"]) {
      expect(AllowedHostName.safeParse(raw).success, raw).toBe(false);
    }
  });
});

describe("host serve's host flags and config", () => {
  it("takes the flags over the file, and refuses a contradiction", () => {
    expect(allowedHostsOption({}, {})).toBeUndefined();
    expect(allowedHostsOption({}, { allowedHosts: ["a.test"] })).toEqual(["a.test"]);
    expect(allowedHostsOption({}, { allowAnyHost: true })).toBe("any");
    expect(allowedHostsOption({ "allowed-host": ["B.test"] }, { allowAnyHost: true }))
      .toEqual(["b.test"]);
    expect(allowedHostsOption({ "allow-any-host": true }, { allowedHosts: ["a.test"] }))
      .toBe("any");
    expect(() => allowedHostsOption({ "allowed-host": ["a"], "allow-any-host": true }, {}))
      .toThrow(expect.objectContaining({ exitCode: 64 }));
    expect(() => allowedHostsOption({ "allowed-host": ["a:80"] }, {}))
      .toThrow(expect.objectContaining({ exitCode: 64, message: expect.stringMatching(/port/) }));
    expect(() => allowedHostsOption({}, { allowedHosts: ["a"], allowAnyHost: true }))
      .toThrow(expect.objectContaining({ exitCode: 65 }));
  });
});

/** One raw HTTP/1.1 GET with exactly these headers; the status line's code and the body. */
function rawGet(
  port: number,
  path: string,
  headers: string[],
  version = "1.1",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1]);
      resolve({ status, body: text.slice(text.indexOf("\r\n\r\n") + 4) });
    });
    socket.write(
      [`GET ${path} HTTP/${version}`, ...headers, "connection: close", "", ""].join("\r\n"),
    );
  });
}

describe("a server on 127.0.0.1", () => {
  let dir: string;
  let host: Host;
  let server: RunningServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "plughost-host-check-"));
    host = await createHost({ home: dir, cache: false });
    server = await startServer({ host, port: 0, graceMs: 0 });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers loopback Hosts", async () => {
    for (
      const value of [
        `127.0.0.1:${server.port}`,
        `localhost:${server.port}`,
        `[::1]:${server.port}`,
        "[::1]",
      ]
    ) {
      const res = await rawGet(server.port, "/openapi.json", [`host: ${value}`]);
      expect(res.status, value).toBe(200);
    }
    // HTTP/1.0 without a Host.
    expect((await rawGet(server.port, "/openapi.json", [], "1.0")).status).toBe(200);
  });

  it("refuses evil.example with 421 problem+json naming the Host and the operator's switch", async () => {
    const res = await rawGet(server.port, "/openapi.json", [`host: evil.example:${server.port}`]);
    expect(res.status).toBe(421);
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({
      type: "https://plughost.dev/problems/host_not_allowed",
      title: "Host not allowed",
      status: 421,
      code: "host_not_allowed",
      host: "evil.example",
    });
    expect(body.detail).toContain("'evil.example'");
    expect(body.detail).toContain("--allowed-host evil.example");
    expect(body.detail).toContain("allowedHosts");
    // Before auth: a guarded route says the same, not 401.
    expect((await rawGet(server.port, "/v1/runs", ["host: evil.example"])).status).toBe(421);
  });

  it("answers the probes whatever the Host: orchestrators name the pod's IP or a service", async () => {
    expect((await rawGet(server.port, "/healthz", ["host: 10.244.1.7:8787"])).status).toBe(200);
    expect((await rawGet(server.port, "/readyz", ["host: plughost:8787"])).status).toBe(200);
  });

  it("checks the authority of an absolute-form request target too", async () => {
    const res = await rawGet(server.port, "http://evil.example/openapi.json", [
      `host: localhost:${server.port}`,
    ]);
    expect(res.status).toBe(421);
    expect(JSON.parse(res.body)).toMatchObject({ code: "host_not_allowed", host: "evil.example" });
  });

  it("answers a malformed Host with 400", async () => {
    // The listener refuses some malformed Hosts itself (Node: "evil example"); the rest reach the check.
    expect((await rawGet(server.port, "/openapi.json", ["host: evil example"])).status).toBe(400);
    const res = await rawGet(server.port, "/openapi.json", ["host: evil..example"]);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ code: "invalid_input" });
    expect(JSON.parse(res.body).detail).toContain("'evil..example'");
  });
});

describe("a server on 127.0.0.1 with operator settings", () => {
  const dirs: string[] = [];
  const servers: RunningServer[] = [];
  const serve = async (allowedHosts: AllowedHosts) => {
    const dir = mkdtempSync(join(tmpdir(), "plughost-host-check-"));
    dirs.push(dir);
    const server = await startServer({
      host: await createHost({ home: dir, cache: false }),
      port: 0,
      graceMs: 0,
      allowedHosts,
    });
    servers.push(server);
    return server;
  };
  afterAll(async () => {
    for (const server of servers) await server.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("answers a name the operator added, and no other", async () => {
    const server = await serve(["PlugHost.test."]);
    expect((await rawGet(server.port, "/openapi.json", ["host: plughost.test"])).status).toBe(200);
    expect((await rawGet(server.port, "/openapi.json", [`host: localhost:${server.port}`])).status)
      .toBe(200);
    expect((await rawGet(server.port, "/openapi.json", ["host: evil.example"])).status).toBe(421);
  });

  it('answers any Host under "any"', async () => {
    const server = await serve("any");
    expect((await rawGet(server.port, "/openapi.json", ["host: evil.example"])).status).toBe(200);
  });

  it("refuses a name that is none before listening", async () => {
    await expect(serve(["http://x"])).rejects.toMatchObject({ code: "usage" });
  });
});
