/**
 * The `capability` template (the default): `greet {"name":"Ada"}` answers
 * `{"message":"Hello, Ada!","greetings":N}`, counting greetings in KV and
 * publishing `<id>.greeted` for each. Every language's source does the same, so one
 * test file serves them all.
 * @module
 */
import { json, type Template, type TemplateValues } from "./template-parts.ts";

export const capabilityTemplate: Template = {
  summary: ({ id }) =>
    `one capability, \`greet\`:
\`{"name":"Ada"}\` -> \`{"message":"Hello, Ada!","greetings":1}\`. It counts greetings in KV and
publishes \`${id}.greeted\` for each.`,
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
    description: "Greets people by name and counts the greetings",
    engines: { host: "^0.1.0", abi: 1 },
    capabilities: {
      greet: {
        export: "greet",
        description: "Returns a greeting and how many greetings this plugin has given",
        input: {
          type: "object",
          properties: { name: { type: "string" } },
          required: ["name"],
        },
        output: {
          type: "object",
          properties: { message: { type: "string" }, greetings: { type: "integer" } },
          required: ["message", "greetings"],
        },
      },
    },
    permissions: {
      kv: { quotaBytes: 65536 },
      events: { publish: [`${id}.*`] },
    },
    limits: { memoryMaxPages: 16 },
  });
}

function tests({ id }: TemplateValues): string {
  return json({
    cases: [
      {
        name: "greets by name",
        capability: "greet",
        input: { name: "Ada" },
        output: { message: "Hello, Ada!", greetings: 1 },
        events: [{ topic: `${id}.greeted`, payload: { name: "Ada", greetings: 1 } }],
      },
      {
        name: "counts greetings in KV across calls",
        capability: "greet",
        input: { name: "Zoë" },
        match: "partial",
        output: { greetings: 2 },
      },
      {
        name: "refuses input without a name",
        capability: "greet",
        input: {},
        error: "schema_mismatch",
      },
    ],
  });
}

function asSource({ id }: TemplateValues): string {
  return `import {
  events,
  fail,
  JSONObject,
  kv,
  log,
  tryReadInputJson,
  writeOutputJson,
} from "@plughost/sdk-as";

// greet {"name":"Ada"} -> {"message":"Hello, Ada!","greetings":1}; counts greetings in KV
// and publishes "${id}.greeted" for each.
export function greet(): i32 {
  const input = tryReadInputJson();
  if (!input.ok) return fail("input is not valid JSON: " + input.error!);
  const field = input.value!.getString("name");
  if (field === null) return fail('input needs a string "name", e.g. {"name":"Ada"}');
  const name: string = field;

  const stored = kv.get("greetings");
  if (!stored.ok) return fail(stored.error!.toString()); // e.g. "permission_denied: ..."
  const greetings = stored.value === null ? 1 : I32.parseInt(stored.value!) + 1;
  const saved = kv.set("greetings", greetings.toString());
  if (!saved.ok) return fail(saved.error!.toString()); // e.g. "quota_exceeded: ..."

  const event = new JSONObject().setString("name", name).setNumber("greetings", <f64> greetings);
  const published = events.publish("${id}.greeted", event);
  if (!published.ok) return fail(published.error!.toString());
  log.info("greeted " + name);

  writeOutputJson(
    new JSONObject().setString("message", "Hello, " + name + "!").setNumber(
      "greetings",
      <f64> greetings,
    ),
  );
  return 0;
}
`;
}

function cSource({ id }: TemplateValues): string {
  return `#include "plughost.h"

/* The string value of "name" in a JSON object, as written (still escaped, so it can be copied
   into JSON output as is). A plain scan: enough for this plugin's flat input. */
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

/* greet {"name":"Ada"} -> {"message":"Hello, Ada!","greetings":1}; counts greetings in KV
   and publishes "${id}.greeted" for each. */
__attribute__((export_name("greet"))) int32_t greet(void) {
  static char in[4096];
  char res[512], req[1024], out[1024], *o;
  uint64_t len = plughost_input(in, sizeof in);
  if (len > sizeof in) return plughost_fail("input is larger than 4096 bytes");
  uint64_t name_len = 0;
  const char *name = name_field(in, len, &name_len);
  if (name == 0) return plughost_fail("input needs a string \\"name\\", e.g. {\\"name\\":\\"Ada\\"}");
  if (name_len > 256) return plughost_fail("name is longer than 256 bytes");

  /* Every answer is {"ok":...} or {"error":{...}}: res[2] is 'o' or 'e'. */
  if (plughost_call(plughost_kv_get, "{\\"key\\":\\"greetings\\"}", res, sizeof res) < 0 || res[2] == 'e')
    return plughost_fail(res);
  uint64_t greetings = stored_count(res) + 1;

  o = put(req, "{\\"key\\":\\"greetings\\",\\"value\\":\\"");
  o = put_u64(o, greetings);
  o = put(o, "\\"}");
  *o = 0;
  if (plughost_call(plughost_kv_set, req, res, sizeof res) < 0 || res[2] == 'e')
    return plughost_fail(res);

  o = put(req, "{\\"topic\\":\\"${id}.greeted\\",\\"payload\\":{\\"name\\":\\"");
  o = put_n(o, name, name_len);
  o = put(o, "\\",\\"greetings\\":");
  o = put_u64(o, greetings);
  o = put(o, "}}");
  *o = 0;
  if (plughost_call(plughost_event_publish, req, res, sizeof res) < 0 || res[2] == 'e')
    return plughost_fail(res);
  plughost_log_info("greeted");

  o = put(out, "{\\"message\\":\\"Hello, ");
  o = put_n(o, name, name_len);
  o = put(o, "!\\",\\"greetings\\":");
  o = put_u64(o, greetings);
  o = put(o, "}");
  plughost_output(out, (uint64_t)(o - out));
  return 0;
}
`;
}

function rustSource({ id }: TemplateValues): string {
  return `#![no_std]
mod plughost;

use plughost::{call, fail, json_string, json_u64, Buf, CallError, HostFn};

fn host_error(error: CallError) -> i32 {
    match error {
        CallError::Host(answer) => fail(answer),
        CallError::TooLarge => fail(b"host answer too large"),
    }
}

/// greet {"name":"Ada"} -> {"message":"Hello, Ada!","greetings":1}; counts greetings in KV
/// and publishes "${id}.greeted" for each.
#[no_mangle]
pub extern "C" fn greet() -> i32 {
    let mut input = [0u8; 4096];
    let input = match plughost::input(&mut input) {
        Some(bytes) => bytes,
        None => return fail(b"input is larger than 4096 bytes"),
    };
    let name = match json_string(input, "name") {
        Some(name) if name.len() <= 256 => name,
        Some(_) => return fail(b"name is longer than 256 bytes"),
        None => return fail(b"input needs a string \\"name\\", e.g. {\\"name\\":\\"Ada\\"}"),
    };

    let mut res = [0u8; 512];
    let greetings = match call(HostFn::KvGet, b"{\\"key\\":\\"greetings\\"}", &mut res) {
        Ok(answer) => json_u64(answer, "value").unwrap_or(0) + 1,
        Err(error) => return host_error(error),
    };

    let mut req = Buf::<1024>::new();
    req.push_str("{\\"key\\":\\"greetings\\",\\"value\\":\\"").push_u64(greetings).push_str("\\"}");
    if let Err(error) = call(HostFn::KvSet, req.as_bytes(), &mut res) {
        return host_error(error);
    }

    let mut event = Buf::<1024>::new();
    event.push_str("{\\"topic\\":\\"${id}.greeted\\",\\"payload\\":{\\"name\\":\\"").push(name);
    event.push_str("\\",\\"greetings\\":").push_u64(greetings).push_str("}}");
    if let Err(error) = call(HostFn::EventPublish, event.as_bytes(), &mut res) {
        return host_error(error);
    }
    plughost::log_info("greeted");

    let mut out = Buf::<1024>::new();
    out.push_str("{\\"message\\":\\"Hello, ").push(name).push_str("!\\",\\"greetings\\":");
    out.push_u64(greetings).push_str("}");
    plughost::output(out.as_bytes());
    0
}
`;
}
