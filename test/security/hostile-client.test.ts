/**
 * A hostile HTTP client against the real app (in process where the case
 * allows, a real socket where it needs one): oversized and stalled bodies,
 * bad tokens, header tricks, traversal in ids, huge query values, stream
 * abuse. Each answer is a problem+json without a stack, and nothing reaches
 * the generic error handler (server.error). See docs/security.md.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../host/server/start.ts";
import { type Harness, harness, jsonBody } from "../server/harness.ts";

const STACK = /\n\s+at |\.(ts|js|mjs):\d+:\d+|node_modules|file:\/\//;

async function problem(res: Response, status: number): Promise<{ code: string; detail: string }> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(text).not.toMatch(STACK);
  return JSON.parse(text);
}

describe("hostile client (in process)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ maxBodyBytes: 64 * 1024, authFailuresPerSecond: 1, authFailureBurst: 5 });
  });
  afterAll(async () => {
    expect((await h.store.events.query({ type: "server.error" })).events).toEqual([]);
    await h.close();
  });

  const greetPath = "/v1/plugins/example.hello/capabilities/greet";

  it("refuses an oversized body by its Content-Length and a streamed one as it arrives", async () => {
    const declared = await h.call(greetPath, {
      ...jsonBody({ name: "x".repeat(100 * 1024) }),
      token: h.tokens.invoke,
    });
    expect((await problem(declared, 413)).code).toBe("payload_too_large");
    // No Content-Length: 4 MiB offered in 64 KiB chunks; the server stops reading past the limit.
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 64) return controller.close();
        pulled++;
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      },
    });
    const streamed = await h.app.request(greetPath, {
      method: "POST",
      headers: { authorization: `Bearer ${h.tokens.invoke}`, "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    expect((await problem(streamed, 413)).code).toBe("payload_too_large");
    expect(pulled).toBeLessThan(64);
  });

  it("answers a body that breaks off midway with a 400, not a host error with its stack", async () => {
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return controller.error(new Error("socket hang up (the client went away)"));
        sent = true;
        controller.enqueue(new TextEncoder().encode('{"name":"half'));
      },
    });
    const res = await h.app.request(greetPath, {
      method: "POST",
      headers: { authorization: `Bearer ${h.tokens.invoke}`, "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    const p = await problem(res, 400);
    expect(p.detail).toMatch(/ended before it was complete/);
    expect(p.detail).not.toMatch(/hang up/);
  });

  it("refuses malformed, unknown and revoked tokens alike, then rate-limits the address", async () => {
    const tries = [
      { authorization: "Bearer" },
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: `Bearer ${"a".repeat(600)}` },
      { authorization: `Bearer ${h.tokens.revoked}` },
      { authorization: "Bearer plh_guess" },
    ];
    // The address the listener reports (in process, given as the app's binding).
    const from = { remoteAddress: "198.51.100.23" };
    for (const headers of tries) {
      const p = await problem(await h.app.request("/v1/runs", { headers }, from), 401);
      expect(p.code).toBe("unauthorized");
    }
    // Five failures from this address used its burst: the next guess is refused before lookup.
    const limited = await h.app.request(
      "/v1/runs",
      { headers: { authorization: "Bearer x" } },
      from,
    );
    expect((await problem(limited, 429)).code).toBe("rate_limited");
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    // Another address is not affected (the address comes from the listener, not a header).
    const elsewhere = await h.app.request(
      "/v1/runs",
      { headers: { authorization: `Bearer ${h.tokens.read}`, "x-forwarded-for": "10.0.0.1" } },
      { remoteAddress: "192.0.2.7" },
    );
    expect(elsewhere.status).toBe(200);
    const spoofed = await h.app.request("/v1/runs", {
      headers: { authorization: "Bearer x", "x-forwarded-for": "192.0.2.99" },
    }, from);
    expect(spoofed.status).toBe(429);
    // A token this server verified moments ago (the read token, just above) still gets in from
    // the blocked address: a shared address (proxy, NAT) cannot be used to lock others out.
    const known = await h.app.request(
      "/v1/runs",
      { headers: { authorization: `Bearer ${h.tokens.read}` } },
      from,
    );
    expect(known.status).toBe(200);
    // A valid token this server has not seen yet waits like any other request from there.
    const unseen = await h.app.request(
      "/v1/runs",
      { headers: { authorization: `Bearer ${h.tokens.admin}` } },
      from,
    );
    expect(unseen.status).toBe(429);
  });

  it("keeps ids with traversal, encoded slashes and NULs inside their route, as 4xx", async () => {
    const ids = [
      "..%2F..%2Fhost.db",
      "%2e%2e",
      "a%00b",
      "example.hello%2F..%2F..",
      "😀".repeat(80),
    ];
    for (const id of ids) {
      for (const path of [`/v1/plugins/${id}`, `/v1/runs/${id}`, `/v1/schedules/${id}`]) {
        const res = await h.call(path, { token: h.tokens.admin });
        expect(res.status, path).toBeGreaterThanOrEqual(400);
        expect(res.status, path).toBeLessThan(500);
        expect(await res.text()).not.toMatch(STACK);
      }
    }
    const up = await h.call(`/v1/plugins/..%2F..%2Fetc/capabilities/greet`, {
      ...jsonBody({ name: "x" }),
      token: h.tokens.admin,
    });
    expect(up.status).toBe(404);
  });

  it("answers huge and odd query values with 400s that do not echo them whole", async () => {
    const huge = "9".repeat(20_000);
    for (const q of [`cursor=${huge}`, `limit=${huge}`, `type=${"a".repeat(5000)}`, "since=-1"]) {
      const res = await h.call(`/v1/events?${q}`, { token: h.tokens.read });
      const text = await res.text();
      expect(res.status, q.slice(0, 40)).toBe(400);
      expect(text.length).toBeLessThan(5000);
    }
  });

  it("does not let header values inject headers or reach responses raw", async () => {
    // The Fetch API refuses CR/LF in header values, so a client cannot send them this way;
    // what it can send (odd correlation ids, Last-Event-ID) is checked, not echoed.
    expect(() => new Headers({ "x-correlation-id": "a\r\nset-cookie: x=1" })).toThrow();
    const res = await h.call("/v1/events/stream", {
      token: h.tokens.read,
      headers: { "last-event-id": "1 OR 1=1" },
    });
    expect((await problem(res, 400)).detail).toMatch(/Last-Event-ID/);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("caps streams per token: opening many is refused, not queued", async () => {
    const cap = h.deps.options.maxStreamsPerToken;
    const open: Response[] = [];
    for (let i = 0; i < cap + 3; i++) {
      open.push(await h.call("/v1/events/stream?cursor=0", { token: h.tokens.read }));
    }
    expect(open.filter((r) => r.status === 200).length).toBe(cap);
    for (const r of open.filter((r) => r.status !== 200)) {
      expect((await problem(r, 429)).code).toBe("rate_limited");
    }
    for (const r of open.filter((r) => r.status === 200)) await r.body!.cancel();
  });
});

describe("hostile client (real socket)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => await h.close());

  it(
    "cuts off a client that stops sending its body (slowloris), on its request timeout",
    async () => {
      const server = await startServer({
        host: h.host,
        port: 0,
        requestTimeoutMs: 1000,
        graceMs: 100,
      });
      try {
        const socket = connect(server.port, "127.0.0.1");
        await new Promise<void>((r) => socket.once("connect", () => r()));
        socket.write(
          "POST /v1/plugins/example.hello/capabilities/greet HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
            `Authorization: Bearer ${h.tokens.invoke}\r\nContent-Type: application/json\r\n` +
            'Content-Length: 1000\r\n\r\n{"name":"sl',
        );
        let answer = "";
        socket.on("data", (d) => (answer += d.toString()));
        // The server ends the request (408 and close) on its own; the test only waits for it.
        await new Promise<void>((r) => socket.once("close", () => r()));
        expect(answer === "" || /^HTTP\/1\.1 408/.test(answer)).toBe(true);
        expect(answer).not.toMatch(STACK);
        // Still serving.
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      } finally {
        await server.close();
      }
    },
    30_000,
  );
});
