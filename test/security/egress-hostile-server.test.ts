/**
 * An allowed server that answers badly cannot hurt the host, and what a
 * plugin sends arrives as it sent it (docs/egress.md): statuses outside
 * 200-599 and reason phrases with control characters fail that request as
 * `network_error` (the Response constructor threw them uncaught before, which
 * ended the host's process); a redirect to a Location that is not a URL is a
 * `network_error`; the plugin's method, headers and body reach the server
 * through the fetch the host really hands to Extism (the tape's), minus the
 * headers that frame the message; a request HTTP does not allow is the
 * plugin's error, without the value that was wrong.
 * @module
 */
import { createServer as createHttpServer, type Server } from "node:http";
import { type AddressInfo, createServer, type Server as NetServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressKind, parseAddress } from "../../host/capabilities/egress-address.ts";
import { guardedFetch } from "../../host/capabilities/http.ts";
import { RunRegistry } from "../../host/capabilities/runs.ts";
import type { CapabilityContext } from "../../host/capabilities/context.ts";
import { tapedFetch } from "../../host/capabilities/tape.ts";
import { classify, MALFORMED_HTTP_REQUEST } from "../../host/sandbox/classify.ts";
import { outputOf, type TestHost, testHost } from "../capabilities/harness.ts";
import { ops, probeWasm, signedProbe } from "../capabilities/probe.ts";

/** A server that writes `head` (and then closes) to every connection: any status line at all. */
let raw: NetServer;
let rawPort = 0;
let head = "";
/** A well-behaved server that tells what it received. */
let echo: Server;
let echoPort = 0;

beforeAll(async () => {
  raw = createServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", () => socket.end(head));
  });
  await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
  rawPort = (raw.address() as AddressInfo).port;
  echo = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () =>
      res.end(JSON.stringify({
        method: req.method,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      })));
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoPort = (echo.address() as AddressInfo).port;
});
afterAll(() => {
  raw.close();
  echo.closeAllConnections();
  echo.close();
});

const client = () =>
  guardedFetch({
    allowedHosts: [`127.0.0.1:${rawPort}`, `127.0.0.1:${echoPort}`],
    maxBytes: 10_000,
    timeoutMs: 2_000,
    maxRedirects: 3,
    onDenied: () => {},
    egress: { allowNetworks: ["127.0.0.0/8"] },
  });

/** The class a call gets when its HTTP request fails with `error`. */
const classOf = (error: unknown) =>
  classify(error, { fuelLeft: 1n, memoryPages: 1, memoryCap: 16, flagged: null });

describe("an allowed server answering badly", () => {
  for (
    const [what, line] of [
      ["status 999", "HTTP/1.1 999 Odd\r\n"],
      ["status 600", "HTTP/1.1 600 X\r\n"],
      ["status 101 without an upgrade", "HTTP/1.1 101 Switching Protocols\r\n"],
    ]
  ) {
    it(`fails the request as network_error on ${what}, and the host lives on`, async () => {
      head = `${line}content-length: 0\r\nconnection: close\r\n\r\n`;
      const error = await client()(`http://127.0.0.1:${rawPort}/`).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect(classOf(error).class).toBe("network_error");
    });
  }

  it("does not pass on a reason phrase with control characters (the status stands)", async () => {
    head = "HTTP/1.1 200 O\x01K\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
    const response = await client()(`http://127.0.0.1:${rawPort}/`);
    expect(response.status).toBe(200);
    expect(response.statusText).toBe("");
    expect(await response.text()).toBe("ok");
  });

  it("answers a redirect to a Location that is not a URL as network_error", async () => {
    head = "HTTP/1.1 302 Found\r\nlocation: http://[\r\ncontent-length: 0\r\n\r\n";
    const error = await client()(`http://127.0.0.1:${rawPort}/`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(classOf(error)).toMatchObject({ class: "network_error" });
    expect(String(error)).toContain("redirected to a Location that is not a URL");
  });
});

describe("what a plugin sends, through the fetch Extism is given", () => {
  const ctx = { runs: new RunRegistry() } as Partial<CapabilityContext> as CapabilityContext;
  const taped = () => tapedFetch(ctx, "t.sender", client());

  it("keeps the method, the headers and the body", async () => {
    const response = await taped()(`http://127.0.0.1:${echoPort}/submit`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k" },
      body: new TextEncoder().encode('{"a":1}'),
    });
    const seen = await response.json() as {
      method: string;
      headers: Record<string, string>;
      body: string;
    };
    expect(seen.method).toBe("POST");
    expect(seen.body).toBe('{"a":1}');
    expect(seen.headers["content-type"]).toBe("application/json");
    expect(seen.headers["x-api-key"]).toBe("k");
    expect(seen.headers["content-length"]).toBe("7");
  });

  it("drops the headers that frame the message or manage the connection", async () => {
    const response = await taped()(`http://127.0.0.1:${echoPort}/submit`, {
      method: "POST",
      headers: {
        "transfer-encoding": "chunked",
        "content-length": "999",
        upgrade: "websocket",
        "proxy-authorization": "Basic eDp5",
        "x-kept": "yes",
      },
      body: new TextEncoder().encode("body"),
    });
    const seen = await response.json() as { headers: Record<string, string>; body: string };
    expect(seen.body).toBe("body");
    expect(seen.headers["transfer-encoding"]).toBeUndefined();
    expect(seen.headers["content-length"]).toBe("4");
    expect(seen.headers.upgrade).toBeUndefined();
    expect(seen.headers["proxy-authorization"]).toBeUndefined();
    expect(seen.headers["x-kept"]).toBe("yes");
  });

  it("refuses a header value HTTP does not allow as the plugin's error, without the value", async () => {
    const error = await taped()(`http://127.0.0.1:${echoPort}/`, {
      headers: { "x-token": "secret-value\r\nInjected: 1" },
    }).then(() => undefined, (e: unknown) => e);
    expect(String(error)).toContain(MALFORMED_HTTP_REQUEST);
    expect(String(error)).not.toContain("secret-value");
    expect(classOf(error)).toEqual({ class: "plugin_error", message: MALFORMED_HTTP_REQUEST });
  });
});

describe("a plugin's POST through a real host", () => {
  let t: TestHost;
  beforeAll(async () => {
    await probeWasm();
    t = await testHost({ egress: { allowNetworks: ["127.0.0.0/8"] } });
    await t.host.runtime.load(
      await signedProbe(t.key, "t.poster", {
        http: { allowedHosts: [`127.0.0.1:${echoPort}`] },
      }),
      "test",
    );
  }, 120_000);
  afterAll(async () => await t?.close());

  it("arrives as a POST with its header and body (it went out as a bare GET before)", async () => {
    const result = await t.call(
      "t.poster",
      "run",
      ops({
        post: `http://127.0.0.1:${echoPort}/hook`,
        body: "hello",
        header: "x-probe",
        value: "1",
      }),
    );
    const [answer] = outputOf(result) as { status: number; body: string }[];
    expect(answer?.status).toBe(200);
    const seen = JSON.parse(answer!.body) as {
      method: string;
      headers: Record<string, string>;
      body: string;
    };
    expect(seen).toMatchObject({ method: "POST", body: "hello" });
    expect(seen.headers["x-probe"]).toBe("1");
  }, 60_000);
});

describe("address classification, the ranges added after review", () => {
  it("refuses Azure's WireServer as metadata and the newer reserved ranges", () => {
    const kind = (text: string) => addressKind(parseAddress(text)!);
    expect(kind("168.63.129.16")).toBe("metadata");
    for (
      const text of ["192.88.99.1", "2001:2::1", "2001:20::1", "2001:2f::1", "3fff::1", "5f00::1"]
    ) {
      expect(kind(text), text).toBe("reserved");
    }
    expect(kind("168.63.129.17")).toBeUndefined();
    expect(kind("2001:30::1")).toBeUndefined();
    expect(kind("5f01::1")).toBeUndefined();
  });
});
