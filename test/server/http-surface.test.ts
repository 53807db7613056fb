/**
 * The HTTP surface a new client meets first: 405 with Allow on a known path,
 * unknown query parameters refused, fixed problem titles, no server paths or
 * CLI flags in answers, a public /openapi.json (closable) and an index at `/`.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { errorCodes } from "../../host/errors.ts";
import { problemTitles } from "../../host/server/problem.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";
import { type Harness, harness } from "./harness.ts";

const upload = (wasm: Uint8Array): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/wasm" },
  body: wasm as Uint8Array<ArrayBuffer>,
});

describe("HTTP surface", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => await h.close());

  it("answers a wrong method on a known path with 405 and Allow", async () => {
    const res = await h.call("/v1/plugins/example.hello/capabilities/greet", {
      token: h.tokens.invoke,
    });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = await res.json();
    expect(problem).toMatchObject({ code: "method_not_allowed", title: "Method not allowed" });
    expect(problem.allow).toEqual(["POST"]);

    const runs = await h.call("/v1/runs", { method: "DELETE", token: h.tokens.admin });
    expect(runs.status).toBe(405);
    expect(runs.headers.get("allow")).toBe("GET, HEAD");
    const plugin = await h.call("/v1/plugins/example.hello", { method: "PUT" });
    expect(plugin.status).toBe(405);
    expect(plugin.headers.get("allow")).toBe("DELETE, GET, HEAD");
    // An unknown path stays 404.
    expect((await h.call("/v1/nothing-here")).status).toBe(404);
  });

  it("refuses unknown query parameters, naming them and the accepted ones", async () => {
    const res = await h.call("/v1/runs?plugin=example.hello", { token: h.tokens.read });
    expect(res.status).toBe(400);
    const problem = await res.json();
    expect(problem.detail).toContain("'plugin'");
    expect(problem.detail).toContain("'pluginId'");
    expect(problem.unknown).toEqual(["plugin"]);
    expect(problem.accepted).toEqual(["pluginId", "status", "cursor", "limit"]);
    const ok = await h.call("/v1/runs?pluginId=example.hello", { token: h.tokens.read });
    expect(ok.status).toBe(200);

    const none = await h.call("/v1/plugins?x=1", { token: h.tokens.read });
    expect(none.status).toBe(400);
    expect((await none.json()).detail).toContain("this route takes none");
  });

  it("has one sentence-case title per problem code", async () => {
    for (const code of errorCodes) {
      const title = problemTitles[code];
      expect(title, code).toMatch(/^[A-Z][^A-Z]*(JSON)?[^A-Z]*$/);
    }
    const res = await h.call("/v1/plugins/example.hello/capabilities/greet", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
      token: h.tokens.invoke,
    });
    expect(res.status).toBe(400);
    expect((await res.json()).title).toBe("Invalid JSON");
  });

  it("speaks HTTP, not CLI, and shows no server paths on refused uploads", async () => {
    const lines: string[] = [];
    h.deps.log = (line) => lines.push(line);
    const same = await signedFirstParty("hello", h.key, (m) => (m.version = "1.1.0"));
    expect((await h.call("/v1/plugins", { ...upload(same), token: h.tokens.admin })).status)
      .toBe(201);
    // The operator sees the upload (serve writes these lines to stderr), and the event log has it.
    expect(lines).toEqual([
      expect.stringMatching(/^uploaded example\.hello@1\.1\.0 \(.+\) by token 'admin'$/),
    ]);
    const installed = await h.store.events.query({ type: "plugin.installed" });
    expect(installed.events.map((e) => e.payload)).toEqual([
      expect.objectContaining({ version: "1.1.0", replaced: null }),
    ]);
    const conflict = await h.call("/v1/plugins", { ...upload(same), token: h.tokens.admin });
    expect(conflict.status).toBe(409);
    const c = await conflict.json();
    expect(c.detail).toContain("?force=true");
    expect(c.detail).not.toMatch(/use force/);

    const stranger = await newKey("stranger");
    const foreign = await signedFirstParty("hello", stranger, (m) => (m.version = "3.0.0"));
    const untrusted = await h.call("/v1/plugins", { ...upload(foreign), token: h.tokens.admin });
    expect(untrusted.status).toBe(422);
    const u = await untrusted.json();
    expect(u.detail).toContain(stranger.keyId);
    expect(u.detail).toContain("server's trust store");
    expect(u.detail).not.toMatch(/--trust|\(memory\)/);

    const anonymous = await h.call("/v1/plugins", { token: "nope" });
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).detail).not.toMatch(/host tokens/);
  });

  it("serves /openapi.json and an index at / without a token", async () => {
    const doc = await h.call("/openapi.json");
    expect(doc.status).toBe(200);
    expect((await doc.json()).openapi).toBe("3.1.0");
    const index = await h.call("/");
    expect(index.status).toBe(200);
    const body = await index.json();
    expect(body.name).toBe("plughost");
    expect(body.links.openapi.href).toBe("/openapi.json");
    expect(body.links.healthz.href).toBe("/healthz");
    expect(body.docs).toContain("docs/http-api.md");
  });
});

describe("HTTP surface with --private-openapi", () => {
  it("serves /openapi.json only to a read token", async () => {
    const h = await harness({ privateOpenApi: true });
    try {
      expect((await h.call("/openapi.json")).status).toBe(401);
      expect((await h.call("/openapi.json", { token: h.tokens.read })).status).toBe(200);
      const index = await (await h.call("/")).json();
      expect(index.links.openapi.description).toContain("needs a token");
    } finally {
      await h.close();
    }
  });
});
