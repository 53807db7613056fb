/**
 * Property test: random and malformed methods, paths, headers and bodies
 * never produce an undocumented 5xx, a stack trace or a crash; every error is
 * problem+json. Seeded, so a failure replays.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, harness } from "./harness.ts";

/** mulberry32: small, seeded, good enough to pick cases. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20261122;
const CASES = 400;

describe("random and malformed requests", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ maxBodyBytes: 64 * 1024, rateLimitPerSecond: 0 });
  });
  afterAll(async () => await h.close());

  it(`${CASES} cases: no undocumented 5xx, no stack trace, errors are problem+json`, async () => {
    const random = rng(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const junk = (n: number) =>
      Array.from({ length: n }, () => String.fromCharCode(Math.floor(random() * 0x2fff))).join("");
    const segments = [
      "example.hello",
      "greet",
      "capabilities",
      "nope",
      "%00",
      "%zz",
      "..",
      "a".repeat(300),
      "😀",
      "{id}",
      "%2F",
      "",
    ];
    const paths = [
      "/v1/plugins/example.hello/capabilities/greet",
      "/v1/plugins",
      "/v1/plugins/example.hello",
      "/v1/runs",
      "/v1/events",
      "/v1/plugins/example.hello/disable",
      "/healthz",
      "/readyz",
      "/metrics",
      "/openapi.json",
    ];
    const bodies: (() => BodyInit | undefined)[] = [
      () => undefined,
      () => "",
      () => "{",
      () => JSON.stringify({ name: junk(8) }),
      () => JSON.stringify({ name: Math.floor(random() * 100) }),
      () => "[".repeat(5000) + "]".repeat(5000),
      () => JSON.stringify({ name: "x".repeat(70 * 1024) }),
      () => new Uint8Array(Array.from({ length: 64 }, () => Math.floor(random() * 256))),
      () => "null",
      () => junk(40),
    ];
    const tokens = [
      undefined,
      h.tokens.admin,
      h.tokens.invoke,
      h.tokens.read,
      "plh_nope",
      junk(20),
    ];
    const contentTypes = [
      undefined,
      "application/json",
      "application/json; charset=utf-8",
      "text/plain",
      "application/wasm",
      junk(10),
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < CASES; i++) {
      let path = pick(paths);
      if (random() < 0.4) {
        path = "/" + Array.from({ length: 1 + Math.floor(random() * 5) }, () => pick(segments))
          .join("/");
      }
      if (random() < 0.3) {
        path += `?limit=${pick(["0", "-1", "abc", "5", "99999"])}&cursor=${
          encodeURIComponent(junk(5))
        }&status=${pick(["ok", "x"])}`;
      }
      const method = pick(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]);
      const headers: Record<string, string> = {};
      const token = pick(tokens);
      if (token !== undefined) {
        headers.authorization = random() < 0.8 ? `Bearer ${token}` : token;
      }
      const type = pick(contentTypes);
      if (type !== undefined) headers["content-type"] = type;
      if (random() < 0.1) headers["last-event-id"] = junk(3);
      if (random() < 0.1) headers["x-correlation-id"] = junk(4);
      const body = method === "GET" || method === "HEAD" ? undefined : pick(bodies)();
      let request: Request;
      try {
        request = new Request(`http://localhost${path}`, { method, headers, body });
      } catch {
        continue; // the client itself refuses such a request (e.g. a bad header value)
      }
      if (path.includes("stream")) continue;
      const res = await h.app.request(request);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const text = await res.text();
      const label = `${method} ${path.slice(0, 80)} -> ${res.status} ${text.slice(0, 200)}`;
      expect(text, label).not.toMatch(/\n\s+at /);
      if (res.status >= 500) {
        // Documented 5xx of a call: the plugin itself failing (trap, timeout) with a run id.
        const problem = JSON.parse(text);
        expect(["trap", "timeout", "output_invalid"], label).toContain(problem.code);
        expect(problem.runId, label).toBeDefined();
      }
      if (res.status >= 400 && method !== "HEAD") {
        expect(res.headers.get("content-type"), label).toBe("application/problem+json");
        expect(JSON.parse(text).type, label).toMatch(/^https:\/\/plughost\.dev\/problems\/\w+$/);
      }
    }
    // Still serving, and the spread of answers shows the cases reached many code paths.
    expect((await h.call("/healthz")).status).toBe(200);
    expect(statuses.size).toBeGreaterThan(5);
  });
});

/** What an OpenAPI operation declares, as far as the fuzzer uses it. */
interface Operation {
  parameters?: { in: string; name: string; schema?: JsonSchema }[];
  requestBody?: { content: Record<string, { schema?: JsonSchema }> };
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
}

/** Values of the shape `schema` asks for (the fuzzer's "valid" side; not every keyword). */
function shaped(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 3) return fc.jsonValue({ maxDepth: 2 });
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object": {
      const props = Object.entries(schema.properties ?? {});
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of props) record[k] = shaped(v, depth + 1);
      return fc.record(record, { requiredKeys: schema.required ?? [] });
    }
    case "array":
      return fc.array(shaped(schema.items, depth + 1), { maxLength: 4 });
    case "string":
      return fc.string({ minLength: schema.minLength ?? 0, maxLength: schema.maxLength ?? 40 });
    case "integer":
      return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 100_000 });
    case "number":
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case "boolean":
      return fc.boolean();
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Inputs no schema allows: wrong types, huge and hostile text, control and odd characters. */
const hostileText = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 50 }),
  fc.constantFrom(
    "../../etc/passwd",
    "..%2F..%2Fhost.db",
    "%00",
    "a".repeat(5000),
    "-1",
    "1e309",
    "NaN",
    "{id}",
    "example.hello/../../v1/runs",
    "' OR 1=1 --",
    "<script>",
    "😀".repeat(100),
  ),
);

/** A stack trace, or the inside of the host (paths, modules) in a response. */
const STACK = /\n\s+at |\bat [\w.<>]+ \(|\.(ts|js|mjs):\d+:\d+|node_modules|file:\/\//;

describe("fuzzing every operation of /openapi.json (fast-check)", () => {
  let h: Harness;
  let doc: { paths: Record<string, Record<string, Operation>> };
  let runId = "";
  beforeAll(async () => {
    h = await harness({ maxBodyBytes: 64 * 1024, rateLimitPerSecond: 0, authFailuresPerSecond: 0 });
    doc = await (await h.call("/openapi.json", { token: h.tokens.read })).json();
    const call = await h.call("/v1/plugins/example.hello/capabilities/greet", {
      token: h.tokens.invoke,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "seed" }),
    });
    runId = call.headers.get("x-run-id") ?? "";
  });
  afterAll(async () => await h.close());

  /** Runs per operation: enough to reach each branch, few enough for ~60 s in all. */
  const RUNS = 100;

  it(
    "answers every generated request without a 5xx or a stack, errors as problem+json",
    async () => {
      const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op }))
      );
      expect(operations.length).toBeGreaterThan(10);
      const known = ["example.hello", "greet", runId, "nope", "01ARZ3NDEKTSV4RRFFQ69G5FAV"];
      const tokens = fc.constantFrom<string | undefined>(
        undefined,
        h.tokens.admin,
        h.tokens.read,
        h.tokens.invoke,
        h.tokens.invokeOther,
        h.tokens.revoked,
        "plh_" + "x".repeat(40),
      );
      const seen = new Map<number, number>();
      for (const { path, method, op } of operations) {
        const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
        const queryParams = (op.parameters ?? []).filter((p) => p.in === "query");
        const bodyTypes = Object.keys(op.requestBody?.content ?? {});
        const json = op.requestBody?.content["application/json"];
        const request = fc.record({
          params: fc.tuple(
            ...pathParams.map(() => fc.oneof(fc.constantFrom(...known), hostileText)),
          ),
          query: fc.tuple(
            ...queryParams.map((p) =>
              fc.option(fc.oneof(shaped(p.schema).map(String), hostileText), { nil: undefined })
            ),
          ),
          token: tokens,
          body: bodyTypes.length === 0 ? fc.constant(undefined) : fc.oneof(
            shaped(json?.schema).map((v) => JSON.stringify(v)),
            fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
            hostileText,
            fc.uint8Array({ maxLength: 512 }),
          ),
          type: fc.constantFrom<string | undefined>(
            undefined,
            ...bodyTypes,
            "text/plain",
            "application/json; charset=latin1",
          ),
        });
        await fc.assert(
          fc.asyncProperty(request, async (r) => {
            let url = path;
            pathParams.forEach((name, i) => {
              url = url.replace(`{${name}}`, encodeURIComponent(r.params[i]!));
            });
            const q = new URLSearchParams();
            queryParams.forEach((p, i) => {
              const v = r.query[i];
              if (v !== undefined) q.set(p.name, v);
            });
            if ([...q].length > 0) url += `?${q}`;
            const headers: Record<string, string> = {};
            if (r.token !== undefined) headers.authorization = `Bearer ${r.token}`;
            if (r.type !== undefined) headers["content-type"] = r.type;
            const body = method === "GET" || method === "HEAD" ? undefined : r.body;
            const res = await h.app.request(`http://localhost${url}`, { method, headers, body });
            seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
            const streaming = res.headers.get("content-type")?.startsWith("text/event-stream");
            const text = streaming ? (await res.body?.cancel(), "") : await res.text();
            const label = `${method} ${url.slice(0, 120)} -> ${res.status} ${text.slice(0, 200)}`;
            expect(res.status, label).toBeLessThan(500);
            expect(text, label).not.toMatch(STACK);
            if (res.status >= 400) {
              expect(res.headers.get("content-type"), label).toBe("application/problem+json");
              const problem = JSON.parse(text);
              expect(problem.status, label).toBe(res.status);
              expect(problem.type, label).toMatch(/^https:\/\/plughost\.dev\/problems\/\w+$/);
              expect(typeof problem.detail, label).toBe("string");
            }
          }),
          { numRuns: RUNS, seed: 20261202, endOnFailure: true },
        );
      }
      // No request reached the generic error handler (it writes server.error), and the host
      // still serves.
      const errors = await h.store.events.query({ type: "server.error" });
      expect(errors.events).toEqual([]);
      expect((await h.call("/healthz")).status).toBe(200);
      expect(seen.size).toBeGreaterThan(4);
    },
    120_000,
  );
});
