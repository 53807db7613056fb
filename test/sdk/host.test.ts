/**
 * The SDK's typed bindings against the ABI (docs/abi.md), through the
 * ABI-level harness in abi-harness.ts (it records each request and answers
 * as docs/abi.md says). HTTP and logging go through Extism's real
 * implementations.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import createPlugin, { type Plugin } from "@extism/extism";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Json, requests, sdkPlugin, store, userFunctions } from "./abi-harness.ts";
import { compileAssemblyScript, root } from "./asc.ts";

let wasm: Uint8Array;
let plugin: Plugin;
const logged: Array<[string, string]> = [];
const logger = Object.fromEntries(
  ["trace", "debug", "info", "warn", "error"].map((level) => [
    level,
    (text: string): void => void logged.push([level, text]),
  ]),
) as unknown as Console;

beforeAll(async () => {
  wasm = await compileAssemblyScript(join(root, "sdk/as/test/host_calls.ts"));
  // The main-thread plugin takes the bulk-copy path; the worker plugins below the kernel path.
  plugin = await sdkPlugin(wasm, { logger, logLevel: "debug" });
});
afterAll(async () => {
  await plugin?.close();
});

async function call(fn: string, input: Json): Promise<Json> {
  requests.length = 0;
  const out = await plugin.call(fn, JSON.stringify(input));
  return out?.json() as Json;
}

describe("sdk/as host bindings", () => {
  it("kv: set, get, list in pages, delete, with exact request shapes", async () => {
    store.clear();
    store.set("greeting.a", "x");
    const out = await call("kv_cycle", {
      key: "greeting.zoë",
      value: "Zoë 🎉",
      prefix: "greeting.",
    });
    expect(out).toEqual({
      setError: null,
      got: "Zoë 🎉",
      getError: null,
      page1: ["greeting.a"],
      cursor1: "greeting.a",
      page2: ["greeting.zoë"],
      cursor2: null,
      deleted: true,
      deleteError: null,
      after: null,
    });
    expect(requests).toEqual([
      { fn: "kv_set", req: { key: "greeting.zoë", value: "Zoë 🎉" } },
      { fn: "kv_get", req: { key: "greeting.zoë" } },
      { fn: "kv_list", req: { prefix: "greeting.", limit: 1, cursor: null } },
      {
        fn: "kv_list",
        req: { prefix: "greeting.", limit: 1, cursor: "greeting.a" },
      },
      { fn: "kv_delete", req: { key: "greeting.zoë" } },
      { fn: "kv_get", req: { key: "greeting.zoë" } },
    ]);
  });

  it("secrets: a declared secret's value; an undeclared one is a permission_denied result", async () => {
    expect(await call("secret", { name: "API_TOKEN" })).toEqual({
      value: "s3cr3t-ü",
      error: null,
    });
    expect(await call("secret", { name: "OTHER" })).toEqual({
      value: null,
      error: {
        code: "permission_denied",
        message: 'secret "OTHER" is not declared in permissions.secrets',
      },
    });
  });

  it("progress: each report is one progress request with message, percent and data", async () => {
    expect(await call("progress_steps", {})).toEqual({ first: true, second: true, error: null });
    expect(requests).toEqual([
      { fn: "progress", req: { message: "half way", percent: 50 } },
      { fn: "progress", req: { message: "done", percent: 100, data: { step: "last" } } },
    ]);
  });

  it('config: a dotted key\'s value, the whole config for "", not_found for an absent key', async () => {
    expect(await call("config_read", { key: "smtp.port" })).toEqual({
      value: 2525,
      error: null,
    });
    expect(requests).toEqual([{ fn: "config_get", req: { key: "smtp.port" } }]);
    expect(await call("config_read", { key: "" })).toEqual({
      value: { greeting: "Hej", smtp: { port: 2525 } },
      error: null,
    });
    expect(await call("config_read", { key: "nope" })).toEqual({
      value: null,
      error: { code: "not_found", message: "no key 'nope'" },
    });
  });

  it("events: publish returns the event id; a denied topic returns the error", async () => {
    const payload = { n: 1, who: "Zoë", nested: [true, null] };
    expect(await call("publish", { topic: "example.greeted", payload }))
      .toEqual({
        id: "01JZ0000000000000000000000",
        error: null,
      });
    expect(requests).toEqual([{
      fn: "event_publish",
      req: { topic: "example.greeted", payload },
    }]);
    const out = await call("publish", {
      topic: "audit.fake",
      payload: null,
    }) as Record<string, Json>;
    expect(out.error).toMatchObject({ code: "permission_denied" });
  });

  it("invoke: passes the input and returns the callee's output JSON", async () => {
    const input = { name: "Zoë" };
    expect(
      await call("call_other", {
        plugin: "example.other",
        capability: "greet",
        input,
      }),
    )
      .toEqual({ output: { echoed: input, by: "example.other" }, error: null });
    expect(requests).toEqual([
      {
        fn: "invoke",
        req: { plugin: "example.other", capability: "greet", input },
      },
    ]);
  });

  it("Result.unwrap on an error aborts the call with code and message", async () => {
    logged.length = 0;
    await expect(plugin.call("unwrap_denied", "")).rejects.toThrow();
    expect(logged.map(([, text]) => text).join("\n")).toMatch(
      /permission_denied: secret "NOT_DECLARED" is not declared/,
    );
  });

  it("log: every level reaches Extism's logger as UTF-8", async () => {
    logged.length = 0;
    expect(await call("logs", null)).toBe("logged");
    expect(logged).toEqual([
      ["debug", "debug Zoë"],
      ["info", "info 🎉"],
      ["warn", "warn ñ"],
      ["error", "error 中"],
    ]);
  });
});

describe("sdk/as http.fetch through Extism's http_request (worker mode)", () => {
  let server: Server;
  let base = "";
  let worker: Plugin;
  const seen: Array<{ method: string; body: string; header: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (body += chunk));
      req.on("end", () => {
        seen.push({
          method: req.method ?? "",
          body,
          header: String(req.headers["x-plugin"]),
        });
        if (req.url === "/empty") {
          res.writeHead(204).end();
          return;
        }
        res.writeHead(req.url === "/missing" ? 404 : 200, {
          "content-type": "application/json",
        });
        res.end(
          JSON.stringify({
            path: req.url,
            greeting: "Grüße",
            pad: "x".repeat(64),
          }),
        );
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    worker = await createPlugin({
      wasm: [{ data: wasm }],
      allowedHosts: ["127.0.0.1"],
    }, {
      useWasi: false,
      runInWorker: true,
      allowHttpResponseHeaders: true,
      functions: { "extism:host/user": userFunctions() },
    });
  });
  afterAll(async () => {
    await worker?.close();
    await new Promise((done) => server?.close(done));
  });

  it("GETs and POSTs JSON to an allowed host; any status is a response", async () => {
    const get = await worker.call(
      "fetch",
      JSON.stringify({ url: `${base}/hello`, method: "get" }),
    );
    expect(get?.json()).toEqual({
      error: null,
      status: 200,
      body: JSON.stringify({
        path: "/hello",
        greeting: "Grüße",
        pad: "x".repeat(64),
      }),
      contentType: "application/json",
    });
    const post = await worker.call(
      "fetch",
      JSON.stringify({
        url: `${base}/missing`,
        method: "POST",
        body: { name: "Zoë" },
      }),
    );
    expect(post?.json()).toMatchObject({ error: null, status: 404 });
    expect(seen).toEqual([
      { method: "GET", body: "", header: "zoë" },
      { method: "POST", body: '{"name":"Zoë"}', header: "zoë" },
    ]);
  });

  it("an empty body is an empty response; a body over the size limit is a network_error", async () => {
    const empty = await worker.call(
      "fetch",
      JSON.stringify({ url: `${base}/empty`, method: "GET" }),
    );
    expect(empty?.json()).toMatchObject({ error: null, status: 204, body: "" });
    const capped = await createPlugin({
      wasm: [{ data: wasm }],
      allowedHosts: ["127.0.0.1"],
      memory: { maxHttpResponseBytes: 16 },
    }, {
      useWasi: false,
      runInWorker: true,
      functions: { "extism:host/user": userFunctions() },
    });
    try {
      const out = await capped.call(
        "fetch",
        JSON.stringify({ url: `${base}/big`, method: "GET" }),
      );
      expect(out?.json()).toMatchObject({
        error: {
          code: "network_error",
          message: expect.stringMatching(
            /answered 200 but its body was not delivered/,
          ),
        },
      });
    } finally {
      await capped.close();
    }
  });

  it("a host outside allowedHosts ends the call with an error", async () => {
    await expect(
      worker.call(
        "fetch",
        JSON.stringify({ url: "http://localhost:9/", method: "GET" }),
      ),
    ).rejects.toThrow(/not allowed/);
  });
});
