/**
 * Plugin HTTP routes (manifest `routes`, docs/routes.md): matching a request
 * path to a plugin's routes, checking path parameters, query and body against
 * the route's JSON Schemas before any run, and the two shapes a route's
 * capability sees: the RouteRequest it gets as input and the RouteResponse it
 * returns. Transport-free: host/server/routes/plugin-routes.ts speaks HTTP.
 * @module
 */
import type { ErrorObject, Options, ValidateFunction } from "ajv";
import { z } from "zod";
import { HostError } from "../errors.ts";
import { AJV_OPTIONS, type Manifest } from "../manifest/mod.ts";
import { openApiPath, parseRoutePath, type PathSegment } from "../manifest/route-paths.ts";
import { putOwn } from "../plugin-config/mod.ts";
import { compileChecked, type SchemaIssue } from "./validate.ts";

/** One manifest route, with its parsed path. */
export interface PluginRoute {
  /** Its index in the manifest's `routes` (rate limits and messages name it). */
  index: number;
  spec: NonNullable<Manifest["routes"]>[number];
  segments: PathSegment[];
  /** The path as an OpenAPI template, `/hooks/{source}`. */
  template: string;
}

/**
 * What a route's capability receives as its input (UTF-8 JSON);
 * `schemas/route-request.schema.json` is generated from this.
 */
export const RouteRequest = z.object({
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]),
  path: z.string().describe("The request path under /p/<plugin id>, like '/hooks/github'"),
  route: z.string().describe("The manifest route's path pattern, like '/hooks/:source'"),
  params: z.record(z.string(), z.unknown()).describe(
    "Path parameters, coerced to the params schema's types",
  ),
  query: z.record(z.string(), z.unknown()).describe(
    "Query parameters (repeated names are arrays), coerced to the query schema's types",
  ),
  headers: z.record(z.string(), z.string()).describe(
    "The route's allow-listed request headers that were sent, lower-case names",
  ),
  body: z.unknown().describe("The JSON body, checked against the body schema; null without one"),
}).meta({ title: "RouteRequest" });
export type RouteRequest = z.infer<typeof RouteRequest>;

/**
 * Response headers a route's capability may set. Others fail the answer: a
 * plugin must not set cookies, CORS or security headers for the host's origin.
 */
export const responseHeaderAllowList: readonly string[] = [
  "cache-control",
  "content-language",
  "content-type",
  "etag",
  "last-modified",
  "location",
  "retry-after",
  "vary",
];

/**
 * What a route's capability returns (UTF-8 JSON);
 * `schemas/route-response.schema.json` is generated from this.
 */
export const RouteResponse = z.strictObject({
  status: z.int().min(200).max(599).default(200).describe("HTTP status, 200-599 (default 200)"),
  headers: z.record(z.string(), z.string().max(4096)).default({}).describe(
    `Response headers, from: ${responseHeaderAllowList.join(", ")}, or starting with 'x-' ` +
      "(not x-run-id)",
  ),
  body: z.unknown().optional().describe(
    "The body: JSON (sent as application/json), or a string sent as it is when " +
      "headers['content-type'] is not JSON",
  ),
}).meta({ title: "RouteResponse" });
export type RouteResponse = z.infer<typeof RouteResponse>;

/** How a request path matched a plugin's routes. */
export type RouteMatch =
  | { kind: "match"; route: PluginRoute; params: Record<string, string> }
  /** The path matches routes of other methods only (HTTP 405 with Allow). */
  | { kind: "method"; allow: string[] }
  | { kind: "none" };

const compiled = new WeakMap<Manifest, PluginRoute[]>();

/** A manifest's routes, parsed once per manifest object. */
export function pluginRoutes(manifest: Manifest): PluginRoute[] {
  let routes = compiled.get(manifest);
  if (!routes) {
    routes = (manifest.routes ?? []).map((spec, index) => {
      const segments = parseRoutePath(spec.path);
      return { index, spec, segments, template: openApiPath(segments) };
    });
    compiled.set(manifest, routes);
  }
  return routes;
}

/**
 * Matches `method` and `path` (under `/p/<id>`, still percent-encoded)
 * against a plugin's routes. Manifests never hold two routes that match one
 * request (the schema refuses them), so the first match is the only one.
 * Throws `invalid_input` for a parameter that is not valid percent-encoding.
 */
export function matchRoute(manifest: Manifest, method: string, path: string): RouteMatch {
  const parts = path === "/" || path === "" ? [] : path.replace(/^\//, "").split("/");
  const allow = new Set<string>();
  for (const route of pluginRoutes(manifest)) {
    if (route.segments.length !== parts.length) continue;
    const raw: Record<string, string> = {};
    const fits = route.segments.every((s, i) => {
      if ("literal" in s) return s.literal === parts[i];
      raw[s.param] = parts[i]!;
      return parts[i] !== "";
    });
    if (!fits) continue;
    if (route.spec.method !== method) {
      allow.add(route.spec.method);
      continue;
    }
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(raw)) {
      try {
        params[name] = decodeURIComponent(value);
      } catch {
        throw new HostError(
          "invalid_input",
          `Path parameter '${name}' is not valid percent-encoding: '${value.slice(0, 100)}'`,
          { extensions: { errors: [{ path: `/params/${name}`, message: "bad encoding" }] } },
        );
      }
    }
    return { kind: "match", route, params };
  }
  return allow.size > 0 ? { kind: "method", allow: [...allow].sort() } : { kind: "none" };
}

// Params and query arrive as strings: this instance coerces them to the schema's types
// (and a single value to a one-item array) while it checks them.
const coercing: Options = { ...AJV_OPTIONS, coerceTypes: "array" };
const coercers = new WeakMap<object, ValidateFunction>();
const plainCache = new WeakMap<object, ValidateFunction>();

/**
 * Checks a matched request's parameters, query and body against its route's
 * schemas, before any run. Returns them coerced; throws a HostError naming
 * the field: `invalid_input` (400) for params and query, `schema_mismatch`
 * (422) for a body off its schema.
 */
export function checkRouteRequest(
  route: PluginRoute,
  request: { params: Record<string, string>; query: URLSearchParams; body: unknown | undefined },
): { params: Record<string, unknown>; query: Record<string, unknown>; body: unknown } {
  const { spec } = route;
  const params: Record<string, unknown> = { ...request.params };
  check(spec.params, params, "params", "invalid_input", coercing, coercers);
  const query: Record<string, unknown> = {};
  for (const name of new Set(request.query.keys())) {
    const values = request.query.getAll(name);
    // An own property even for `__proto__` (an assignment would set the prototype, and the
    // parameter would pass unseen by the check below).
    putOwn(query, name, values.length === 1 ? values[0] : values);
  }
  const names = Object.keys(query);
  if (spec.query === undefined && names.length > 0) {
    const list = names.slice(0, 20).map((n) => `'${n.slice(0, 100)}'`).join(", ");
    throw new HostError(
      "invalid_input",
      `Unknown query parameter${
        names.length === 1 ? "" : "s"
      } ${list}: ${spec.method} ${spec.path} takes none`,
      {
        extensions: {
          errors: names.slice(0, 20).map((n) => ({ path: `/query/${n}`, message: "not accepted" })),
          // As the API's own routes answer an unknown query parameter (docs/http-api.md).
          unknown: names.slice(0, 20),
          accepted: [],
        },
      },
    );
  }
  check(spec.query, query, "query", "invalid_input", coercing, coercers);
  if (spec.body === undefined) {
    if (request.body !== undefined) {
      throw new HostError(
        "invalid_input",
        `${spec.method} ${spec.path} takes no body: send none`,
        { extensions: { errors: [{ path: "/body", message: "not accepted" }] } },
      );
    }
    return { params, query, body: null };
  }
  if (request.body === undefined) {
    throw new HostError(
      "invalid_input",
      `${spec.method} ${spec.path} needs a JSON body (Content-Type: application/json)`,
      { extensions: { errors: [{ path: "/body", message: "is required" }] } },
    );
  }
  check(spec.body, request.body, "body", "schema_mismatch", AJV_OPTIONS, plainCache);
  return { params, query, body: request.body };
}

function check(
  schema: Record<string, unknown> | undefined,
  value: unknown,
  where: "params" | "query" | "body",
  code: "invalid_input" | "schema_mismatch",
  options: Options,
  cache: WeakMap<object, ValidateFunction>,
): void {
  if (schema === undefined) return;
  let validate = cache.get(schema);
  if (!validate) {
    try {
      validate = compileChecked(options, schema);
    } catch (error) {
      throw new HostError(
        "invalid_manifest",
        `The route's ${where} schema is not valid JSON Schema: ${(error as Error).message}`,
      );
    }
    cache.set(schema, validate);
  }
  if (validate(value)) return;
  const issues: SchemaIssue[] = (validate.errors ?? []).map((e) => issueOf(where, e));
  const text = issues.slice(0, 5).map((i) => `${i.path} ${i.message}`).join("; ");
  throw new HostError(
    code,
    `The request's ${where} do${
      where === "body" ? "es" : ""
    } not match the route's ${where} schema: ${text}`,
    { extensions: { errors: issues } },
  );
}

/** An ajv error as `/query/limit must be integer`, naming the missing property for `required`. */
function issueOf(where: string, error: ErrorObject): SchemaIssue {
  const missing = error.keyword === "required"
    ? `/${String((error.params as { missingProperty?: unknown }).missingProperty)}`
    : error.keyword === "additionalProperties"
    ? `/${String((error.params as { additionalProperty?: unknown }).additionalProperty)}`
    : "";
  return {
    path: `/${where}${error.instancePath}${missing}`,
    message: error.message ?? "is invalid",
  };
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a route capability's output as a RouteResponse. Throws HostError
 * `output_invalid` (500) when it is not one or sets a header off the
 * allow-list.
 */
export function routeResponseOf(
  pluginId: string,
  capability: string,
  output: Uint8Array,
): RouteResponse {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(output));
  } catch {
    throw new HostError(
      "output_invalid",
      `Route capability '${pluginId}/${capability}' returned output that is not JSON`,
    );
  }
  const parsed = RouteResponse.safeParse(value);
  if (!parsed.success) {
    const why = parsed.error.issues.slice(0, 5).map((i) =>
      `${i.path.join(".") || "(root)"}: ${i.message}`
    )
      .join("; ");
    throw new HostError(
      "output_invalid",
      `Route capability '${pluginId}/${capability}' returned no RouteResponse {status, headers, body}: ${why}`,
    );
  }
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(parsed.data.headers)) {
    const lower = name.toLowerCase();
    const allowed = responseHeaderAllowList.includes(lower) ||
      (lower.startsWith("x-") && lower !== "x-run-id" && /^[a-z0-9-]+$/.test(lower));
    if (!allowed) {
      throw new HostError(
        "output_invalid",
        `Route capability '${pluginId}/${capability}' set response header '${
          name.slice(0, 100)
        }', ` +
          `which routes may not set (allowed: ${responseHeaderAllowList.join(", ")}, x-*)`,
      );
    }
    // What node:http writes in a header value: the rest (DEL included, which the Headers
    // constructor lets through) throws where nothing catches it, and ends the process.
    if (/[^\t\x20-\x7e\x80-\xff]/.test(v)) {
      throw new HostError(
        "output_invalid",
        `Route capability '${pluginId}/${capability}' set response header '${lower}' to a ` +
          "value HTTP does not allow (a control character, DEL, a line break, or a " +
          "character above U+00FF)",
      );
    }
    headers[lower] = v;
  }
  return { ...parsed.data, headers };
}

/**
 * The JSON Schemas of RouteRequest (`io: output`, what the plugin reads) and
 * RouteResponse (`io: input`, what it may write) as formatted text, for
 * `schemas/route-request.schema.json` and `schemas/route-response.schema.json`.
 */
export function routeJsonSchemaTexts(): Record<"request" | "response", string> {
  const text = (schema: z.ZodType, name: string, io: "input" | "output") => {
    const generated = z.toJSONSchema(schema, { target: "draft-2020-12", io });
    return JSON.stringify(
      {
        $schema: generated.$schema,
        $id: `https://plughost.dev/schemas/${name}.schema.json`,
        description: "Generated from host/core/routes.ts by scripts/gen-schemas.ts; do not edit. " +
          "See docs/routes.md.",
        ...generated,
      },
      null,
      2,
    ) + "\n";
  };
  return {
    request: text(RouteRequest, "route-request", "output"),
    response: text(RouteResponse, "route-response", "input"),
  };
}
