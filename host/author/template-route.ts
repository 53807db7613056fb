/**
 * The `route` template: one public HTTP route, `GET /p/<id>/hello/:name`
 * (docs/routes.md). Its capability `hello` takes the RouteRequest the host
 * makes of the request and returns a RouteResponse, counting visits in KV.
 * @module
 */
import { json, type Template, type TemplateValues } from "./template-parts.ts";

export const routeTemplate: Template = {
  summary: ({ id }) =>
    `one HTTP route: \`host serve\` answers \`GET /p/${id}/hello/Ada\` with
\`{"message":"Hello, Ada!","visits":1}\`, counting visits in KV. The host checks the path
parameter against the route's \`params\` schema before any run, then calls the capability
\`hello\` with a RouteRequest (\`{"method","path","route","params","query","headers","body"}\`);
it returns a RouteResponse (\`{"status","headers","body"}\`). See docs/routes.md in plughost.`,
  manifest,
  tests,
  source: { as: asSource, c: cSource, rust: rustSource },
};

function manifest({ id, name }: TemplateValues): string {
  return json({
    $schema: "./manifest.schema.json",
    schemaVersion: 1,
    id,
    version: "0.1.0",
    name,
    description: "Greets people by name over HTTP and counts the visits",
    engines: { host: "^0.1.0", abi: 1 },
    capabilities: {
      hello: {
        export: "hello",
        description: "Answers GET /hello/:name: a RouteRequest in, a RouteResponse out",
        input: {
          type: "object",
          properties: {
            params: {
              type: "object",
              properties: { name: { type: "string" } },
              required: ["name"],
            },
          },
          required: ["params"],
        },
        output: {
          type: "object",
          properties: {
            status: { type: "integer" },
            headers: { type: "object", additionalProperties: { type: "string" } },
            body: {
              type: "object",
              properties: { message: { type: "string" }, visits: { type: "integer" } },
              required: ["message", "visits"],
            },
          },
          required: ["status", "body"],
        },
      },
    },
    routes: [
      {
        method: "GET",
        path: "/hello/:name",
        capability: "hello",
        description: "Greets :name",
        params: {
          type: "object",
          properties: { name: { type: "string", minLength: 1, maxLength: 64 } },
        },
        auth: "public",
        rateLimit: { requests: 60, perSeconds: 60 },
      },
    ],
    permissions: {
      kv: { quotaBytes: 4096 },
    },
    limits: { memoryMaxPages: 16 },
  });
}

/** The RouteRequest the host makes of `GET /p/<id>/hello/<name>`. */
function request(name: string) {
  return {
    method: "GET",
    path: `/hello/${encodeURIComponent(name)}`,
    route: "/hello/:name",
    params: { name },
    query: {},
    headers: {},
    body: null,
  };
}

function tests(_values: TemplateValues): string {
  return json({
    cases: [
      {
        name: "GET /hello/Ada answers 200 with a greeting",
        capability: "hello",
        input: request("Ada"),
        output: {
          status: 200,
          headers: { "cache-control": "no-store" },
          body: { message: "Hello, Ada!", visits: 1 },
        },
      },
      {
        name: "counts visits in KV across requests",
        capability: "hello",
        input: request("Zoë"),
        match: "partial",
        output: { status: 200, body: { message: "Hello, Zoë!", visits: 2 } },
      },
      {
        name: "refuses a request without params.name",
        capability: "hello",
        input: { ...request("Ada"), params: {} },
        error: "schema_mismatch",
      },
    ],
  });
}

function asSource(_values: TemplateValues): string {
  return `import { fail, JSONObject, kv, tryReadInputJson, writeOutputJson } from "@plughost/sdk-as";

// GET /p/<plugin id>/hello/:name. The host checked :name against the route's params schema
// before this run; the input is the RouteRequest
// {"method","path","route","params":{"name":"Ada"},"query","headers","body"}, and the output
// is the RouteResponse {"status","headers","body"} the host sends back.
export function hello(): i32 {
  const input = tryReadInputJson();
  if (!input.ok) return fail("input is not valid JSON: " + input.error!);
  const params = input.value!.get("params");
  if (params === null) return fail('the RouteRequest has no "params"');
  const field = params.getString("name");
  if (field === null) return fail('the RouteRequest has no string "params.name"');
  const name: string = field;

  const stored = kv.get("visits");
  if (!stored.ok) return fail(stored.error!.toString());
  const visits = stored.value === null ? 1 : I64.parseInt(stored.value!) + 1;
  const saved = kv.set("visits", visits.toString());
  if (!saved.ok) return fail(saved.error!.toString()); // e.g. "quota_exceeded: ..."

  const body = new JSONObject().setString("message", "Hello, " + name + "!")
    .setNumber("visits", <f64> visits);
  writeOutputJson(
    new JSONObject().setNumber("status", 200)
      .set("headers", new JSONObject().setString("cache-control", "no-store"))
      .set("body", body),
  );
  return 0;
}
`;
}

function cSource(_values: TemplateValues): string {
  return `#include "plughost.h"

/* The string value of "name" in a JSON text, as written (still escaped, so it can be copied
   into JSON output as is). A plain scan for the first "name" key: this route has no query and no
   body, so in its RouteRequest only params has one. */
static const char *name_field(const char *json, uint64_t len, uint64_t *out_len) {
  const char *key = "\\"name\\"";
  for (uint64_t i = 0; i + 6 < len; i++) {
    uint64_t k = 0;
    while (k < 6 && json[i + k] == key[k]) k++;
    if (k < 6) continue;
    uint64_t j = i + 6;
    while (j < len && (json[j] == ' ' || json[j] == '\\n' || json[j] == '\\t' || json[j] == '\\r')) j++;
    if (j >= len || json[j] != ':') continue;
    j++;
    while (j < len && (json[j] == ' ' || json[j] == '\\n' || json[j] == '\\t' || json[j] == '\\r')) j++;
    if (j >= len || json[j] != '"') return 0;
    uint64_t start = ++j;
    while (j < len && json[j] != '"') j += json[j] == '\\\\' ? 2 : 1;
    if (j >= len) return 0;
    *out_len = j - start;
    return json + start;
  }
  return 0;
}

/* The number after "value":" in a kv_get answer, or 0 when the key is absent (value null). */
static uint64_t stored_count(const char *res) {
  const char *pat = "\\"value\\":\\"";
  for (const char *p = res; *p; p++) {
    const char *a = p, *b = pat;
    while (*b && *a == *b) a++, b++;
    if (*b) continue;
    uint64_t n = 0;
    while (*a >= '0' && *a <= '9') n = n * 10 + (uint64_t)(*a++ - '0');
    return n;
  }
  return 0;
}

static char *put(char *o, const char *s) {
  while (*s) *o++ = *s++;
  return o;
}

static char *put_n(char *o, const char *s, uint64_t n) {
  while (n--) *o++ = *s++;
  return o;
}

static char *put_u64(char *o, uint64_t n) {
  char tmp[20];
  int i = 0;
  do tmp[i++] = (char)('0' + n % 10), n /= 10; while (n);
  while (i) *o++ = tmp[--i];
  return o;
}

/* GET /p/<plugin id>/hello/:name. The host checked :name against the route's params schema
   before this run; the input is the RouteRequest
   {"method","path","route","params":{"name":"Ada"},"query","headers","body"}, and the output is
   the RouteResponse {"status","headers","body"} the host sends back. */
__attribute__((export_name("hello"))) int32_t hello(void) {
  static char in[8192];
  char res[512], req[256], out[1024], *o;
  uint64_t len = plughost_input(in, sizeof in);
  if (len > sizeof in) return plughost_fail("the request is larger than 8192 bytes");
  uint64_t name_len = 0;
  const char *name = name_field(in, len, &name_len);
  if (name == 0) return plughost_fail("the RouteRequest has no string \\"params.name\\"");
  if (name_len > 512) return plughost_fail("name is longer than 512 bytes");

  /* Every answer is {"ok":...} or {"error":{...}}: res[2] is 'o' or 'e'. */
  if (plughost_call(plughost_kv_get, "{\\"key\\":\\"visits\\"}", res, sizeof res) < 0 || res[2] == 'e')
    return plughost_fail(res);
  uint64_t visits = stored_count(res) + 1;
  o = put(req, "{\\"key\\":\\"visits\\",\\"value\\":\\"");
  o = put_u64(o, visits);
  o = put(o, "\\"}");
  *o = 0;
  if (plughost_call(plughost_kv_set, req, res, sizeof res) < 0 || res[2] == 'e')
    return plughost_fail(res);

  o = put(out, "{\\"status\\":200,\\"headers\\":{\\"cache-control\\":\\"no-store\\"},");
  o = put(o, "\\"body\\":{\\"message\\":\\"Hello, ");
  o = put_n(o, name, name_len);
  o = put(o, "!\\",\\"visits\\":");
  o = put_u64(o, visits);
  o = put(o, "}}");
  plughost_output(out, (uint64_t)(o - out));
  return 0;
}
`;
}

function rustSource(_values: TemplateValues): string {
  return `#![no_std]
mod plughost;

use plughost::{call, fail, json_string, json_u64, Buf, CallError, HostFn};

fn host_error(error: CallError) -> i32 {
    match error {
        CallError::Host(answer) => fail(answer),
        CallError::TooLarge => fail(b"host answer too large"),
    }
}

/// GET /p/<plugin id>/hello/:name. The host checked :name against the route's params schema
/// before this run; the input is the RouteRequest
/// {"method","path","route","params":{"name":"Ada"},"query","headers","body"}, and the output is
/// the RouteResponse {"status","headers","body"} the host sends back.
#[no_mangle]
pub extern "C" fn hello() -> i32 {
    let mut input = [0u8; 8192];
    let request = match plughost::input(&mut input) {
        Some(bytes) => bytes,
        None => return fail(b"the request is larger than 8192 bytes"),
    };
    // A plain scan for the first "name": this route has no query and no body, so in its
    // RouteRequest only params has one.
    let name = match json_string(request, "name") {
        Some(name) if name.len() <= 512 => name,
        Some(_) => return fail(b"name is longer than 512 bytes"),
        None => return fail(b"the RouteRequest has no string \\"params.name\\""),
    };

    let mut res = [0u8; 512];
    let visits = match call(HostFn::KvGet, b"{\\"key\\":\\"visits\\"}", &mut res) {
        Ok(answer) => json_u64(answer, "value").unwrap_or(0) + 1,
        Err(error) => return host_error(error),
    };
    let mut req = Buf::<256>::new();
    req.push_str("{\\"key\\":\\"visits\\",\\"value\\":\\"").push_u64(visits).push_str("\\"}");
    if let Err(error) = call(HostFn::KvSet, req.as_bytes(), &mut res) {
        return host_error(error);
    }

    let mut out = Buf::<1024>::new();
    out.push_str("{\\"status\\":200,\\"headers\\":{\\"cache-control\\":\\"no-store\\"},");
    out.push_str("\\"body\\":{\\"message\\":\\"Hello, ").push(name).push_str("!\\",\\"visits\\":");
    out.push_u64(visits).push_str("}}");
    plughost::output(out.as_bytes());
    0
}
`;
}
