/**
 * The route rules of host/core/routes.ts and host/manifest/route-paths.ts,
 * without a server: path patterns, the overlap rule, matching, coercing and
 * checking params and query, and reading a RouteResponse.
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkRouteRequest,
  matchRoute,
  routeJsonSchemaTexts,
  routeResponseOf,
} from "../../host/core/routes.ts";
import { parseManifest } from "../../host/manifest/mod.ts";
import { parseRoutePath, pathsOverlap } from "../../host/manifest/route-paths.ts";
import { repoRoot } from "../helpers/cli.ts";

const manifest = parseManifest({
  schemaVersion: 1,
  id: "example.routes",
  version: "1.0.0",
  name: "Routes",
  engines: { host: "^0.1.0", abi: 1 },
  capabilities: { answer: { export: "answer" } },
  routes: [
    {
      method: "GET",
      path: "/items/:id",
      capability: "answer",
      params: { type: "object", properties: { id: { type: "integer", minimum: 1 } } },
      query: {
        type: "object",
        properties: {
          tag: { type: "array", items: { type: "string" } },
          full: { type: "boolean" },
        },
        additionalProperties: false,
      },
      auth: ["read"],
    },
    { method: "DELETE", path: "/items/:id", capability: "answer", auth: ["admin"] },
    { method: "GET", path: "/", capability: "answer", auth: "public" },
  ],
});

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("route path patterns", () => {
  it("parse literals and :params, refusing what would be unclear", () => {
    expect(parseRoutePath("/")).toEqual([]);
    expect(parseRoutePath("/a/:b")).toEqual([{ literal: "a" }, { param: "b" }]);
    expect(() => parseRoutePath("a")).toThrow("must start with '/'");
    expect(() => parseRoutePath("/a/")).toThrow("must not end with '/'");
    expect(() => parseRoutePath("/a//b")).toThrow("empty segment");
    expect(() => parseRoutePath("/:x/:x")).toThrow("':x' appears twice");
    expect(() => parseRoutePath("/a*")).toThrow("may use only");
    expect(() => parseRoutePath("/:1x")).toThrow("parameter ':1x'");
  });

  it("overlap when some path matches both: equivalent or ambiguous, never across lengths", () => {
    const overlap = (a: string, b: string) => pathsOverlap(parseRoutePath(a), parseRoutePath(b));
    expect(overlap("/hooks/:a", "/hooks/:b")).toBe(true);
    expect(overlap("/hooks/:source", "/hooks/github")).toBe(true);
    expect(overlap("/:a/x", "/y/:b")).toBe(true);
    expect(overlap("/hooks/github", "/hooks/gitlab")).toBe(false);
    expect(overlap("/hooks/:s", "/hooks/:s/latest")).toBe(false);
    expect(overlap("/", "/")).toBe(true);
  });
});

describe("matchRoute and checkRouteRequest", () => {
  it("match by path and method, decode params, and list the methods of a path", () => {
    const hit = matchRoute(manifest, "GET", "/items/4%32");
    expect(hit).toMatchObject({ kind: "match", params: { id: "42" } });
    expect(matchRoute(manifest, "PUT", "/items/1")).toEqual({
      kind: "method",
      allow: ["DELETE", "GET"],
    });
    expect(matchRoute(manifest, "GET", "/items")).toEqual({ kind: "none" });
    expect(matchRoute(manifest, "GET", "/")).toMatchObject({ kind: "match" });
    expect(() => matchRoute(manifest, "GET", "/items/%E0%A4%A")).toThrow("percent-encoding");
  });

  it("coerce params and query to the schema's types, and name the field that is wrong", () => {
    const hit = matchRoute(manifest, "GET", "/items/42");
    if (hit.kind !== "match") throw new Error("no match");
    const checked = checkRouteRequest(hit.route, {
      params: hit.params,
      query: new URLSearchParams("tag=a&full=true"),
      body: undefined,
    });
    expect(checked).toEqual({ params: { id: 42 }, query: { tag: ["a"], full: true }, body: null });
    const refused = (params: Record<string, string>, query: string, body?: unknown) => {
      try {
        checkRouteRequest(hit.route, { params, query: new URLSearchParams(query), body });
      } catch (error) {
        return error as { code: string; message: string; extensions: { errors: unknown[] } };
      }
      throw new Error("not refused");
    };
    expect(refused({ id: "0" }, "")).toMatchObject({
      code: "invalid_input",
      extensions: { errors: [{ path: "/params/id", message: "must be >= 1" }] },
    });
    expect(refused({ id: "x" }, "").message).toContain("/params/id must be integer");
    expect(refused({ id: "1" }, "full=maybe").message).toContain("/query/full must be boolean");
    expect(refused({ id: "1" }, "size=2").message).toContain(
      "/query/size must NOT have additional",
    );
    expect(refused({ id: "1" }, "", { a: 1 }).message).toContain("takes no body");
  });
});

describe("routeResponseOf", () => {
  it("reads a RouteResponse with defaults and refuses headers off the allow-list", () => {
    expect(routeResponseOf("p", "c", bytes({ body: { ok: true } }))).toEqual({
      status: 200,
      headers: {},
      body: { ok: true },
    });
    expect(routeResponseOf("p", "c", bytes({ status: 201, headers: { "X-Id": "7" } })).headers)
      .toEqual({ "x-id": "7" });
    expect(() => routeResponseOf("p", "c", bytes({ headers: { "set-cookie": "a=b" } })))
      .toThrow("set response header 'set-cookie'");
    expect(() => routeResponseOf("p", "c", bytes({ headers: { "x-run-id": "forged" } })))
      .toThrow("'x-run-id'");
    for (const value of ["a\r\nb", "nul\0", "bell\u0007", "del\u007f", "snow\u2603"]) {
      expect(() => routeResponseOf("p", "c", bytes({ headers: { "x-v": value } }))).toThrow(
        "value HTTP does not allow",
      );
    }
    expect(routeResponseOf("p", "c", bytes({ headers: { "x-v": "caf\u00e9\tok" } })).headers)
      .toEqual({ "x-v": "caf\u00e9\tok" });
    expect(() => routeResponseOf("p", "c", bytes({ status: 101 }))).toThrow("status");
    expect(() => routeResponseOf("p", "c", bytes({ status: 200, extra: 1 }))).toThrow(
      "no RouteResponse",
    );
    expect(() => routeResponseOf("p", "c", new TextEncoder().encode("not json"))).toThrow(
      "not JSON",
    );
  });

  it("has current JSON Schemas in schemas/ (regenerate: node scripts/run-ts.mjs scripts/gen-schemas.ts)", () => {
    const texts = routeJsonSchemaTexts();
    const file = (name: string) => readFileSync(join(repoRoot, "schemas", name), "utf8");
    expect(file("route-request.schema.json")).toBe(texts.request);
    expect(file("route-response.schema.json")).toBe(texts.response);
  });
});
