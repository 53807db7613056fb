/**
 * Requests an adversarial review of the HTTP API sent, each answered now
 * with a documented 4xx and nothing held or misread (docs/http-api.md):
 * HEAD on a stream route takes no stream slot; JSON nested past
 * MAX_JSON_DEPTH or with a key given twice is 400 `invalid_json` (it was a
 * 500 on a public plugin route, and a duplicate key let a value the schema
 * refused reach the plugin); a leading byte order mark on a capability input
 * is refused; `__proto__` as a query parameter is seen as one; a trailing
 * slash is 404, not a 405 naming methods the path does not answer; a body
 * declared in a charset other than UTF-8 is 415 (it was read as UTF-8).
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../host/core/json-shape.ts";
import { signedFirstParty } from "../helpers/signing.ts";
import { type Harness, harness, jsonBody } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await harness({ maxStreamsPerToken: 2, maxStreams: 10 });
  await h.runtime.load(await signedFirstParty("webhook", h.key), "test");
}, 120_000);
afterAll(async () => await h.close());

const greet = "/v1/plugins/example.hello/capabilities/greet";
const hook = "/p/example.webhook/hooks/github";
const nested = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
/** A JSON POST of `body` as sent (raw text or bytes), with `token` if any. */
const post = (path: string, body: string | Uint8Array<ArrayBuffer>, token?: string) =>
  h.call(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    ...(token === undefined ? {} : { token }),
  });
const problem = async (res: Response) => ({
  status: res.status,
  ...(await res.json() as { code?: string; detail?: string }),
});

describe("stream routes answer HEAD without taking a stream", () => {
  it("leaves the token's streams free after more HEADs than its cap", async () => {
    for (let i = 0; i < 5; i++) {
      const head = await h.call("/v1/events/stream", { method: "HEAD", token: h.tokens.read });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-type")).toContain("text/event-stream");
    }
    expect(h.deps.openStreams.total).toBe(0);
    const get = await h.call("/v1/events/stream", { token: h.tokens.read });
    expect(get.status).toBe(200);
    await get.body?.cancel();
  });

  it("answers HEAD on a run stream for an unknown run with 404, for a known one with no stream", async () => {
    const missing = await h.call("/v1/runs/01JZZZZZZZZZZZZZZZZZZZZZZZ/stream", {
      method: "HEAD",
      token: h.tokens.read,
    });
    expect(missing.status).toBe(404);
    const run = await h.call(greet, { ...jsonBody({ name: "a" }), token: h.tokens.invoke });
    const runId = run.headers.get("x-run-id")!;
    const head = await h.call(`/v1/runs/${runId}/stream`, { method: "HEAD", token: h.tokens.read });
    expect(head.status).toBe(200);
    expect(h.deps.openStreams.total).toBe(0);
  });
});

describe("JSON bodies nested too deeply", () => {
  it("is 400 invalid_json on a public plugin route (no token), not a 500", async () => {
    const body = `{"event":"push","data":${nested(10_000)}}`;
    const res = await post(hook, body);
    const answer = await problem(res);
    expect(answer).toMatchObject({ status: 400, code: "invalid_json" });
    expect(answer.detail).toContain(`more than the ${MAX_JSON_DEPTH}`);
    const shallow = await h.call(hook, jsonBody({ event: "push", data: JSON.parse(nested(20)) }));
    expect(shallow.status).toBe(202);
  });

  it("is 400 on an admin route whose handler recursed (config PATCH)", async () => {
    const res = await h.call("/v1/plugins/example.hello/config", {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: `{"x":${nested(6_000)}}`,
      token: h.tokens.admin,
    });
    expect(await problem(res)).toMatchObject({ status: 400, code: "invalid_json" });
  });

  it("is 400 for every JSON media type the routes' validator parses, merge-patch included", async () => {
    for (
      const body of [`{"x":${nested(6_000)}}`, '{"x":1,"x":2}']
    ) {
      const res = await h.call("/v1/plugins/example.hello/config", {
        method: "PATCH",
        headers: { "content-type": "application/merge-patch+json" },
        body,
        token: h.tokens.admin,
      });
      expect(await problem(res), body.slice(0, 20)).toMatchObject({
        status: 400,
        code: "invalid_json",
      });
    }
  });

  it("is 400 on a capability call", async () => {
    const res = await post(
      greet,
      `{"name":"a","x":${nested(MAX_JSON_DEPTH + 5)}}`,
      h.tokens.invoke,
    );
    expect(await problem(res)).toMatchObject({ status: 400, code: "invalid_json" });
  });
});

describe("capability inputs the plugin would read differently", () => {
  it("refuses a key given twice, whichever of the two the schema would pass", async () => {
    for (const body of ['{"name":"a","name":"b"}', '{"name":{"$ne":1},"name":"ok"}']) {
      const res = await post(greet, body, h.tokens.invoke);
      const answer = await problem(res);
      expect(answer, body).toMatchObject({ status: 400, code: "invalid_json" });
      expect(answer.detail).toContain("same key twice");
    }
    // The same key in two different objects is no duplicate; ':' inside strings is not a key.
    const fine = await post(greet, '{"name":"a:b\\":c"}', h.tokens.invoke);
    expect(fine.status).toBe(200);
  });

  it("refuses an input that starts with a byte order mark", async () => {
    const body = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"name":"a"}')]);
    const res = await post(greet, body, h.tokens.invoke);
    const answer = await problem(res);
    expect(answer).toMatchObject({ status: 400, code: "invalid_json" });
    expect(answer.detail).toContain("byte order mark");
  });
});

describe("query parameters and paths", () => {
  it("sees __proto__ as a query parameter like any other", async () => {
    const res = await h.call(`${hook}?__proto__=a&__proto__=b`, jsonBody({ event: "push" }));
    const answer = await problem(res);
    expect(answer).toMatchObject({ status: 400, code: "invalid_input" });
    expect(answer.detail).toContain("__proto__");
  });

  it("answers a trailing slash with 404, not a 405 that names the slashless path's methods", async () => {
    const res = await h.call("/v1/plugins/", { token: h.tokens.read });
    expect(res.status).toBe(404);
    expect((await h.call("/v1/plugins", { token: h.tokens.read })).status).toBe(200);
  });
});

describe("readiness when the store is gone", () => {
  it("answers 503 not_ready with a fixed detail, not the driver's words", async () => {
    const own = await harness();
    try {
      await own.store.close();
      const res = await own.call("/readyz");
      const answer = await problem(res);
      expect(answer).toMatchObject({ status: 503, code: "not_ready" });
      expect(answer.detail).toBe(
        "The store does not answer; run 'host doctor' on the server to see why",
      );
    } finally {
      await own.close().catch(() => {});
    }
  });
});

describe("bodies declared in a charset other than UTF-8", () => {
  /** `text` in UTF-16LE, what `charset=utf-16` bodies usually are. */
  const utf16 = (text: string) =>
    new Uint8Array([...text].flatMap((ch) => [ch.charCodeAt(0) & 0xff, ch.charCodeAt(0) >> 8]));
  const send = (
    path: string,
    type: string,
    body: string | Uint8Array<ArrayBuffer>,
    token?: string,
  ) =>
    h.call(path, {
      method: "POST",
      headers: { "content-type": type },
      body,
      ...(token === undefined ? {} : { token }),
    });

  it("refuses them with 415 naming the charset, however the parameter is written", async () => {
    for (
      const [type, charset] of [
        ["application/json; charset=utf-16", "utf-16"],
        ["application/json;charset=UTF-16LE", "UTF-16LE"],
        ['application/json; charset="utf-16"', "utf-16"],
        ["application/json; foo=bar; charset = latin1", "latin1"],
        ["Application/JSON; Charset=ISO-8859-1", "ISO-8859-1"],
        ["application/json; charset=", ""],
      ] as const
    ) {
      // UTF-16 bytes and the same text in ASCII: the charset decides, not whether the bytes decode.
      for (const body of [utf16('{"name":"a"}'), '{"name":"a"}']) {
        const answer = await problem(await send(greet, type, body, h.tokens.invoke));
        expect(answer, type).toMatchObject({ status: 415, code: "unsupported_media_type" });
        expect(answer.detail, type).toContain(`charset '${charset}'`);
        expect(answer.detail, type).toContain("UTF-8");
      }
    }
  });

  it("accepts UTF-8 and US-ASCII in any case, quoted or not", async () => {
    for (
      const type of [
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/json;charset=utf8",
        "application/json; charset=US-ASCII",
      ]
    ) {
      const res = await send(greet, type, '{"name":"a"}', h.tokens.invoke);
      expect(res.status, type).toBe(200);
    }
  });

  it("refuses them on a plugin route and on a route the validator reads (config PATCH)", async () => {
    const body = utf16('{"event":"push","data":{}}');
    expect(await problem(await send(hook, "application/json; charset=utf-16", body)))
      .toMatchObject({ status: 415, code: "unsupported_media_type" });
    const patch = await h.call("/v1/plugins/example.hello/config", {
      method: "PATCH",
      headers: { "content-type": 'application/merge-patch+json; charset="UTF-16"' },
      body: utf16('{"x":1}'),
      token: h.tokens.admin,
    });
    expect(await problem(patch)).toMatchObject({ status: 415, code: "unsupported_media_type" });
  });
});
