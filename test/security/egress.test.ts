/**
 * SSRF containment (issue 13): the HTTP gate resolves names, refuses special
 * addresses in every spelling unless the operator allows the network, pins the
 * connection to the checked address, and reads an entry without a port as the
 * default port only. DNS is injected, never /etc/hosts.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressKind, parseAddress } from "../../host/capabilities/egress-address.ts";
import {
  EgressGate,
  limitedResolver,
  MAX_SYSTEM_LOOKUPS,
  type Resolver,
} from "../../host/capabilities/egress.ts";
import { guardedFetch, hostAllowed } from "../../host/capabilities/http.ts";
import { outputOf, type TestHost, testHost } from "../capabilities/harness.ts";
import { ops, probeWasm, signedProbe } from "../capabilities/probe.ts";

let server: Server;
let port = 0;
let hits: { url: string; host: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push({ url: req.url ?? "", host: req.headers.host ?? "" });
    res.end("local secret");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const names = (map: Record<string, string[]>): Resolver => (hostname) => {
  const found = map[hostname];
  if (!found) return Promise.reject(Object.assign(new Error("not found"), { code: "ENOTFOUND" }));
  return Promise.resolve(found);
};

function gate(allowedHosts: string[], allowNetworks: string[] = [], resolve?: Resolver) {
  const denied: string[] = [];
  const fetch = guardedFetch({
    allowedHosts,
    maxBytes: 10_000,
    timeoutMs: 2_000,
    maxRedirects: 3,
    onDenied: (_url, _hop, reason) => denied.push(reason),
    egress: { allowNetworks, ...(resolve ? { resolve } : {}) },
  });
  return { fetch, denied };
}

describe("address classification", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["10.1.2.3", "private"],
    ["172.31.0.1", "private"],
    ["192.168.1.1", "private"],
    ["fd12::1", "private"],
    ["fe80::1", "link-local"],
    ["169.254.1.1", "link-local"],
    ["169.254.169.254", "metadata"],
    ["fd00:ec2::254", "metadata"],
    ["100.64.0.1", "cgnat"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["64:ff9b::7f00:1", "reserved"],
    ["::ffff:0:7f00:1", "reserved"],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "reserved"],
    ["93.184.215.14", undefined],
    ["2606:2800:21f:cb07:6820:80da:af6b:8b2c", undefined],
  ])("%s is %s", (text, kind) => {
    const address = parseAddress(text);
    expect(address).toBeDefined();
    expect(addressKind(address!)).toBe(kind);
  });
});

describe("the egress gate", () => {
  it("refuses a name that resolves to 127.0.0.1, before any connection", async () => {
    hits = [];
    const { fetch, denied } = gate([`svc.test:${port}`], [], names({ "svc.test": ["127.0.0.1"] }));
    await expect(fetch(`http://svc.test:${port}/readyz`)).rejects.toThrow(/is not allowed/);
    expect(denied).toEqual([
      expect.stringContaining("'svc.test' resolves to 127.0.0.1 is a loopback address"),
    ]);
    expect(hits).toEqual([]);
  });

  it("refuses a name with one public and one private address", async () => {
    const { fetch } = gate(["svc.test"], [], names({ "svc.test": ["93.184.215.14", "10.0.0.7"] }));
    await expect(fetch("http://svc.test/")).rejects.toThrow(/10\.0\.0\.7 is a private address/);
  });

  it.each([
    "http://2130706433:PORT/",
    "http://0177.0.0.1:PORT/",
    "http://0x7f.0.0.1:PORT/",
    "http://0x7f000001:PORT/",
    "http://127.1:PORT/",
    "http://0.0.0.0:PORT/",
    "http://169.254.169.254/latest/meta-data/",
  ])("refuses the literal %s", async (raw) => {
    hits = [];
    const url = new URL(raw.replace("PORT", String(port)));
    const { fetch, denied } = gate([url.host]);
    await expect(fetch(url)).rejects.toThrow(/is not allowed: .* address/);
    expect(denied).toHaveLength(1);
    expect(hits).toEqual([]);
  });

  it.each(["[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::1]", "[::]", "[fe80::1]", "[fd00::1]"])(
    "refuses the IPv6 literal %s",
    async (host) => {
      // Manifests cannot list IPv6 literals; the gate refuses them anyway.
      const decision = await new EgressGate().check(new URL(`http://${host}:${port}/`).hostname);
      expect(decision).toMatchObject({ ok: false, denied: true });
    },
  );

  it("reaches a local server when the policy allows 127.0.0.0/8, keeping the name in Host", async () => {
    hits = [];
    const { fetch } = gate(
      [`svc.test:${port}`],
      ["127.0.0.0/8"],
      names({ "svc.test": ["127.0.0.1"] }),
    );
    const response = await fetch(`http://svc.test:${port}/data`);
    expect(await response.text()).toBe("local secret");
    expect(hits).toEqual([{ url: "/data", host: `svc.test:${port}` }]);
  });

  it("connects to the address it checked (a rebinding resolver gets no second chance)", async () => {
    hits = [];
    let lookups = 0;
    const rebinding: Resolver = () =>
      Promise.resolve(lookups++ === 0 ? ["127.0.0.1"] : ["10.9.9.9"]);
    const { fetch } = gate([`svc.test:${port}`], ["127.0.0.0/8"], rebinding);
    expect(await (await fetch(`http://svc.test:${port}/`)).text()).toBe("local secret");
    expect(lookups).toBe(1);
  });

  it("does not open the metadata address with a wider link-local allowance", async () => {
    const { fetch } = gate(["169.254.169.254"], ["169.254.0.0/16"]);
    await expect(fetch("http://169.254.169.254/")).rejects.toThrow(/metadata address/);
    const exact = await new EgressGate({ allowNetworks: ["169.254.169.254/32"] })
      .check("169.254.169.254");
    expect(exact).toMatchObject({ ok: true, address: { text: "169.254.169.254" } });
  });

  it("reads an entry without a port as the scheme's default port only", async () => {
    expect(hostAllowed(new URL("http://localhost:8787/"), ["localhost"])).toBe(false);
    expect(hostAllowed(new URL("http://localhost/"), ["localhost"])).toBe(true);
    expect(hostAllowed(new URL("https://localhost/"), ["localhost"])).toBe(true);
    expect(hostAllowed(new URL("http://localhost:443/"), ["localhost"])).toBe(false);
    expect(hostAllowed(new URL("http://localhost:8787/"), ["localhost:8787"])).toBe(true);
    const { fetch, denied } = gate(["localhost"], ["127.0.0.0/8"]);
    await expect(fetch("http://localhost:8787/healthz")).rejects.toThrow(/allowedHosts/);
    expect(denied).toHaveLength(1);
  });

  it(
    "bounds name resolution by the request's time limit: a resolver that never answers is a network error",
    async () => {
      const never: Resolver = () => new Promise<string[]>(() => {});
      const { fetch, denied } = gate(["hang.test"], [], never);
      await expect(fetch("http://hang.test/")).rejects.toThrow(
        /failed \(network_error\): no complete answer within the host's 2000 ms limit \(resolving 'hang.test'\)/,
      );
      expect(denied).toEqual([]);
    },
    60_000,
  );

  it("answers a name that does not resolve as a network error", async () => {
    const { fetch, denied } = gate(["nowhere.test"], [], names({}));
    await expect(fetch("http://nowhere.test/")).rejects.toThrow(
      /failed \(network_error\): cannot resolve 'nowhere.test' \(ENOTFOUND\)/,
    );
    expect(denied).toEqual([]);
  });
});

describe("system lookups at once", () => {
  // getaddrinfo holds one of libuv's 4 threads (shared with file reads and WebCrypto) until the
  // resolver gives up, whatever the request's deadline: hung lookups must not take them all.
  it("runs at most MAX_SYSTEM_LOOKUPS; the others wait, and one whose deadline passes never starts", async () => {
    let started = 0;
    const release: (() => void)[] = [];
    const hung: Resolver = () => {
      started++;
      return new Promise<string[]>((resolve) => release.push(() => resolve(["203.0.113.7"])));
    };
    const limited = limitedResolver(hung, MAX_SYSTEM_LOOKUPS);
    const deadlines = Array.from({ length: 6 }, () => new AbortController());
    const lookups = deadlines.map((d, i) =>
      limited(`n${i}.test`, d.signal).then(() => "ok", () => "abandoned")
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(started).toBe(MAX_SYSTEM_LOOKUPS);
    // The waiting ones pass their deadline: they never reach the system resolver.
    for (const d of deadlines.slice(MAX_SYSTEM_LOOKUPS, 5)) d.abort(new Error("deadline"));
    for (const r of release.splice(0)) r();
    expect(await Promise.all(lookups.slice(0, 5))).toEqual([
      ...Array(MAX_SYSTEM_LOOKUPS).fill("ok"),
      ...Array(5 - MAX_SYSTEM_LOOKUPS).fill("abandoned"),
    ]);
    // The last one got a slot freed by the first two.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(started).toBe(MAX_SYSTEM_LOOKUPS + 1);
    for (const r of release.splice(0)) r();
    expect(await lookups[5]).toBe("ok");
  });
});

describe("a lookup whose deadline passed before it started", () => {
  it("is a timed-out decision, and the abandoned lookup's failure is handled", async () => {
    const hung: Resolver = () => new Promise<string[]>(() => {});
    const gate = new EgressGate({ resolve: limitedResolver(hung, MAX_SYSTEM_LOOKUPS) });
    const decision = await gate.check("late.test", AbortSignal.abort(new Error("deadline")));
    expect(decision).toMatchObject({ ok: false, denied: false, timedOut: true });
    // An unhandled rejection would fail this test file (vitest reports it).
    await new Promise((resolve) => setTimeout(resolve, 20));
  });
});

describe("credential headers on redirects", () => {
  let first: Server;
  let second: Server;
  let firstPort = 0;
  let secondPort = 0;
  const seen: { server: string; url: string; headers: Record<string, unknown> }[] = [];
  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  };
  beforeAll(async () => {
    first = createServer((req, res) => {
      seen.push({ server: "first", url: req.url ?? "", headers: req.headers });
      if (req.url === "/away") {
        return void res.writeHead(302, { location: `http://127.0.0.1:${secondPort}/landed` })
          .end();
      }
      if (req.url === "/renamed") {
        return void res.writeHead(307, { location: `http://svc.test:${firstPort}/landed` }).end();
      }
      if (req.url === "/same") return void res.writeHead(302, { location: "/landed" }).end();
      res.end("first");
    });
    second = createServer((req, res) => {
      seen.push({ server: "second", url: req.url ?? "", headers: req.headers });
      res.end("second");
    });
    firstPort = await listen(first);
    secondPort = await listen(second);
  });
  afterAll(() => {
    for (const s of [first, second]) {
      s.closeAllConnections();
      s.close();
    }
  });
  const credentials = {
    authorization: "Bearer plugin-token",
    cookie: "session=abc",
    "proxy-authorization": "Basic cHJveHk6cHc=",
    "x-trace": "kept",
  };
  // What arrives on a hop that keeps them: Proxy-Authorization never leaves (there is no proxy
  // to show it to; the origin server would get a credential meant for one).
  const { "proxy-authorization": _proxy, ...kept } = credentials;
  const client = () =>
    gate(
      [`127.0.0.1:${firstPort}`, `127.0.0.1:${secondPort}`, `svc.test:${firstPort}`],
      ["127.0.0.0/8"],
      names({ "svc.test": ["127.0.0.1"] }),
    ).fetch;

  it("drops Authorization, Cookie and Proxy-Authorization when a redirect goes to another port", async () => {
    seen.length = 0;
    const response = await client()(`http://127.0.0.1:${firstPort}/away`, {
      headers: credentials,
    });
    expect(await response.text()).toBe("second");
    expect(seen.map((s) => [s.server, s.url])).toEqual([["first", "/away"], [
      "second",
      "/landed",
    ]]);
    expect(seen[0]?.headers).toMatchObject(kept);
    expect(Object.keys(seen[0]?.headers ?? {})).not.toContain("proxy-authorization");
    expect(seen[1]?.headers).toMatchObject({ "x-trace": "kept" });
    expect(Object.keys(seen[1]?.headers ?? {})).not.toContain("authorization");
    expect(Object.keys(seen[1]?.headers ?? {})).not.toContain("cookie");
    expect(Object.keys(seen[1]?.headers ?? {})).not.toContain("proxy-authorization");
  });

  it("drops them when only the host name changes (same address and port)", async () => {
    seen.length = 0;
    await (await client()(`http://127.0.0.1:${firstPort}/renamed`, { headers: credentials }))
      .text();
    expect(seen.map((s) => [s.url, s.headers.host])).toEqual([
      ["/renamed", `127.0.0.1:${firstPort}`],
      ["/landed", `svc.test:${firstPort}`],
    ]);
    expect(seen[1]?.headers.authorization).toBeUndefined();
    expect(seen[1]?.headers.cookie).toBeUndefined();
  });

  it("keeps them on a redirect within the same origin", async () => {
    seen.length = 0;
    const response = await client()(`http://127.0.0.1:${firstPort}/same`, {
      headers: credentials,
    });
    expect(await response.text()).toBe("first");
    expect(seen.map((s) => s.url)).toEqual(["/same", "/landed"]);
    expect(seen[1]?.headers).toMatchObject(kept);
  });
});

describe("a plugin whose host name never resolves", () => {
  let t: TestHost;
  beforeAll(async () => {
    await probeWasm();
    const never: Resolver = () => new Promise<string[]>(() => {});
    // The call's own timeout (10 s by default) is far above the HTTP limit: only the
    // HTTP limit bounding the lookup ends this call as network_error rather than timeout.
    t = await testHost({ policy: { httpTimeoutMs: 300 }, egress: { resolve: never } });
    await t.host.runtime.load(
      await signedProbe(t.key, "t.dns", { http: { allowedHosts: ["hang.test"] } }),
      "test",
    );
  }, 120_000);
  afterAll(async () => await t?.close());

  it("ends the call with network_error at the HTTP time limit", async () => {
    const result = await t.call("t.dns", "run", ops({ http: "http://hang.test/" }));
    expect(result.ok ? "ok" : result.error.class).toBe("network_error");
    expect(result.ok ? "" : result.error.message).toContain(
      "no complete answer within the host's 300 ms limit (resolving 'hang.test')",
    );
  }, 60_000);
});

describe("a plugin reaching for the host's own loopback", () => {
  let t: TestHost;
  beforeAll(async () => {
    await probeWasm();
    t = await testHost({ egress: { resolve: names({ "example.com": ["127.0.0.1"] }) } });
    await t.host.runtime.load(
      await signedProbe(t.key, "t.ssrf", {
        http: { allowedHosts: ["example.com", `example.com:${port}`, `127.0.0.1:${port}`] },
      }),
      "test",
    );
  }, 120_000);
  afterAll(async () => await t?.close());

  it("is refused by name and by literal, audited, and the server sees nothing", async () => {
    hits = [];
    for (const url of [`http://example.com:${port}/readyz`, `http://127.0.0.1:${port}/readyz`]) {
      const result = await t.call("t.ssrf", "run", ops({ http: url }));
      expect(result.ok ? "ok" : result.error.class).toBe("permission_denied");
      const audit = (await t.events({ type: "audit.denied" })).filter((e) =>
        e.runId === result.runId
      );
      expect(audit.map((e) => (e.payload as { reason: string }).reason)).toEqual([
        expect.stringContaining("loopback address"),
      ]);
    }
    expect(hits).toEqual([]);
    // The plugin's output never contains the local answer.
    const result = await t.call("t.ssrf", "run", ops({ http: `http://example.com:${port}/` }));
    expect(JSON.stringify(result.ok ? outputOf(result) : result.error)).not.toContain(
      "local secret",
    );
  });
});
