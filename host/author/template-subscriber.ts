/**
 * The `subscriber` template: an `onEvent` hook (docs/delivery.md) that the host
 * calls once per `run.failed` event; it counts them in KV and keeps the last
 * event's id, and the capability `count` reads both.
 * @module
 */
import { json, type Template, type TemplateValues } from "./template-parts.ts";

export const subscriberTemplate: Template = {
  summary: () =>
    `an event hook and one capability. The host calls \`on_event\` (its
\`hooks.onEvent\`) with each \`run.failed\` event as JSON; it counts them in KV and keeps the last
event's id. \`count\` reads them: \`{"count":1,"lastEventId":"01J..."}\`. Delivery is at least
once (docs/delivery.md in plughost): after a host restart an event may come twice, and the event id
tells a repeat.`,
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
    description: "Counts the host's run.failed events and tells the count",
    engines: { host: "^0.1.0", abi: 1 },
    capabilities: {
      count: {
        export: "count",
        description: "Returns how many run.failed events were delivered, and the last one's id",
        output: {
          type: "object",
          properties: {
            count: { type: "integer" },
            lastEventId: { type: ["string", "null"] },
          },
          required: ["count", "lastEventId"],
        },
      },
    },
    hooks: {
      onEvent: { export: "on_event", topics: ["run.failed"], priority: 0 },
    },
    permissions: {
      kv: { quotaBytes: 4096 },
      // A hook topic is delivered only when a subscribe grant covers it too.
      events: { subscribe: ["run.failed"] },
    },
    limits: { memoryMaxPages: 16 },
  });
}

/** An event as the host delivers it (docs/delivery.md, "What is delivered"). */
function event(n: number) {
  return {
    id: `01JTEST00000000000000000E${n}`,
    type: "run.failed",
    ts: "2026-01-01T00:00:00.000Z",
    source: "host",
    pluginId: "example.other",
    runId: `01JTEST00000000000000000R${n}`,
    correlationId: null,
    payload: { capability: "work", error: { class: "plugin_error", message: "boom" } },
  };
}

function tests(_values: TemplateValues): string {
  return json({
    cases: [
      {
        name: "counts nothing before any event",
        capability: "count",
        output: { count: 0, lastEventId: null },
      },
      {
        name: "on_event takes a run.failed event",
        hook: "onEvent",
        input: event(1),
      },
      {
        name: "on_event takes a second event",
        hook: "onEvent",
        input: event(2),
      },
      {
        name: "count reads what on_event kept",
        capability: "count",
        output: { count: 2, lastEventId: event(2).id },
      },
      {
        name: "on_event refuses input that is no event",
        hook: "onEvent",
        input: { type: "run.failed" },
        error: "plugin_error",
      },
    ],
  });
}

function asSource(_values: TemplateValues): string {
  return `import { fail, JSONObject, kv, tryReadInputJson, writeOutputJson } from "@plughost/sdk-as";

// The host calls on_event (hooks.onEvent in plugin.json) once per run.failed event, with the
// event as JSON: {"id", "type", "ts", "source", "pluginId", "runId", "correlationId", "payload"}.
// Delivery is at least once, so the count is "deliveries seen"; the last id tells a repeat.
export function on_event(): i32 {
  const input = tryReadInputJson();
  if (!input.ok) return fail("input is not valid JSON: " + input.error!);
  const id = input.value!.getString("id");
  if (id === null) return fail('the event has no string "id"');

  const stored = kv.get("count");
  if (!stored.ok) return fail(stored.error!.toString());
  const count = stored.value === null ? 1 : I64.parseInt(stored.value!) + 1;
  const saved = kv.set("count", count.toString());
  if (!saved.ok) return fail(saved.error!.toString()); // e.g. "quota_exceeded: ..."
  const last = kv.set("last-event", id!);
  if (!last.ok) return fail(last.error!.toString());
  return 0;
}

// count {} -> {"count":N,"lastEventId":"..."|null}
export function count(): i32 {
  const stored = kv.get("count");
  if (!stored.ok) return fail(stored.error!.toString());
  const last = kv.get("last-event");
  if (!last.ok) return fail(last.error!.toString());
  const count = stored.value === null ? 0 : I64.parseInt(stored.value!);
  writeOutputJson(
    new JSONObject().setNumber("count", <f64> count).setStringOrNull("lastEventId", last.value),
  );
  return 0;
}
`;
}

function cSource(_values: TemplateValues): string {
  return `#include "plughost.h"

/* Where the value of "key" starts in a JSON text (a plain scan for the first "key": it does
   not skip nested objects, which is enough for the top-level fields read here). */
static const char *value_of(const char *json, uint64_t len, const char *key) {
  uint64_t klen = plughost_strlen(key);
  for (uint64_t i = 0; i + klen + 2 < len; i++) {
    if (json[i] != '"' || json[i + klen + 1] != '"') continue;
    uint64_t k = 0;
    while (k < klen && json[i + 1 + k] == key[k]) k++;
    if (k < klen) continue;
    uint64_t j = i + klen + 2;
    while (j < len && (json[j] == ' ' || json[j] == '\\n' || json[j] == '\\t' || json[j] == '\\r')) j++;
    if (j >= len || json[j] != ':') continue;
    j++;
    while (j < len && (json[j] == ' ' || json[j] == '\\n' || json[j] == '\\t' || json[j] == '\\r')) j++;
    return json + j;
  }
  return 0;
}

/* The string value of "key", as written (still escaped, so it can be copied into JSON as is),
   or 0 when it is absent or not a string. */
static const char *string_of(const char *json, uint64_t len, const char *key, uint64_t *out_len) {
  const char *v = value_of(json, len, key);
  if (v == 0 || *v != '"') return 0;
  const char *end = json + len, *p = ++v;
  while (p < end && *p != '"') p += *p == '\\\\' ? 2 : 1;
  if (p >= end) return 0;
  *out_len = (uint64_t)(p - v);
  return v;
}

static uint64_t parse_u64(const char *s, uint64_t len) {
  uint64_t n = 0;
  for (uint64_t i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) n = n * 10 + (uint64_t)(s[i] - '0');
  return n;
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

/* kv_get of "key": 1 and the value (as written) when it is set, 0 when absent, -1 on failure
   (the call is failed with the host's answer already). */
static int kv_read(const char *request, char *res, uint64_t cap, const char **value, uint64_t *len) {
  /* Every answer is {"ok":...} or {"error":{...}}: res[2] is 'o' or 'e'. */
  int64_t n = plughost_call(plughost_kv_get, request, res, cap);
  if (n < 0 || res[2] == 'e') {
    plughost_fail(res);
    return -1;
  }
  *value = string_of(res, (uint64_t)n, "value", len);
  return *value != 0;
}

/* The host calls on_event (hooks.onEvent in plugin.json) once per run.failed event, with the
   event as JSON: {"id", "type", "ts", "source", "pluginId", "runId", "correlationId", "payload"}.
   Delivery is at least once, so the count is "deliveries seen"; the last id tells a repeat. */
__attribute__((export_name("on_event"))) int32_t on_event(void) {
  static char in[16384];
  char res[512], req[512], *o;
  uint64_t len = plughost_input(in, sizeof in);
  if (len > sizeof in) return plughost_fail("the event is larger than 16384 bytes");
  uint64_t id_len = 0;
  const char *id = string_of(in, len, "id", &id_len);
  if (id == 0) return plughost_fail("the event has no string \\"id\\"");
  if (id_len > 128) return plughost_fail("the event id is longer than 128 bytes");

  const char *value;
  uint64_t value_len = 0;
  int found = kv_read("{\\"key\\":\\"count\\"}", res, sizeof res, &value, &value_len);
  if (found < 0) return 1;
  uint64_t count = (found ? parse_u64(value, value_len) : 0) + 1;

  o = put(req, "{\\"key\\":\\"count\\",\\"value\\":\\"");
  o = put_u64(o, count);
  o = put(o, "\\"}");
  *o = 0;
  if (plughost_call(plughost_kv_set, req, res, sizeof res) < 0 || res[2] == 'e')
    return plughost_fail(res);

  o = put(req, "{\\"key\\":\\"last-event\\",\\"value\\":\\"");
  o = put_n(o, id, id_len);
  o = put(o, "\\"}");
  *o = 0;
  if (plughost_call(plughost_kv_set, req, res, sizeof res) < 0 || res[2] == 'e')
    return plughost_fail(res);
  return 0;
}

/* count {} -> {"count":N,"lastEventId":"..."|null} */
__attribute__((export_name("count"))) int32_t count(void) {
  char res[512], out[512], *o;
  const char *value;
  uint64_t value_len = 0;
  int found = kv_read("{\\"key\\":\\"count\\"}", res, sizeof res, &value, &value_len);
  if (found < 0) return 1;
  uint64_t n = found ? parse_u64(value, value_len) : 0;

  o = put(out, "{\\"count\\":");
  o = put_u64(o, n);
  o = put(o, ",\\"lastEventId\\":");
  found = kv_read("{\\"key\\":\\"last-event\\"}", res, sizeof res, &value, &value_len);
  if (found < 0) return 1;
  if (found) {
    o = put(o, "\\"");
    o = put_n(o, value, value_len);
    o = put(o, "\\"}");
  } else {
    o = put(o, "null}");
  }
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

/// The host calls on_event (hooks.onEvent in plugin.json) once per run.failed event, with the
/// event as JSON: {"id", "type", "ts", "source", "pluginId", "runId", "correlationId", "payload"}.
/// Delivery is at least once, so the count is "deliveries seen"; the last id tells a repeat.
#[no_mangle]
pub extern "C" fn on_event() -> i32 {
    let mut input = [0u8; 16384];
    let event = match plughost::input(&mut input) {
        Some(bytes) => bytes,
        None => return fail(b"the event is larger than 16384 bytes"),
    };
    // A plain scan for the first "id": the event's own id comes before its payload.
    let id = match json_string(event, "id") {
        Some(id) if id.len() <= 128 => id,
        Some(_) => return fail(b"the event id is longer than 128 bytes"),
        None => return fail(b"the event has no string \\"id\\""),
    };

    let mut res = [0u8; 512];
    let count = match call(HostFn::KvGet, b"{\\"key\\":\\"count\\"}", &mut res) {
        Ok(answer) => json_u64(answer, "value").unwrap_or(0) + 1,
        Err(error) => return host_error(error),
    };
    let mut req = Buf::<512>::new();
    req.push_str("{\\"key\\":\\"count\\",\\"value\\":\\"").push_u64(count).push_str("\\"}");
    if let Err(error) = call(HostFn::KvSet, req.as_bytes(), &mut res) {
        return host_error(error);
    }
    let mut req = Buf::<512>::new();
    req.push_str("{\\"key\\":\\"last-event\\",\\"value\\":\\"").push(id).push_str("\\"}");
    if let Err(error) = call(HostFn::KvSet, req.as_bytes(), &mut res) {
        return host_error(error);
    }
    0
}

/// count {} -> {"count":N,"lastEventId":"..."|null}
#[no_mangle]
pub extern "C" fn count() -> i32 {
    let mut res = [0u8; 512];
    let count = match call(HostFn::KvGet, b"{\\"key\\":\\"count\\"}", &mut res) {
        Ok(answer) => json_u64(answer, "value").unwrap_or(0),
        Err(error) => return host_error(error),
    };
    let mut out = Buf::<512>::new();
    out.push_str("{\\"count\\":").push_u64(count).push_str(",\\"lastEventId\\":");
    match call(HostFn::KvGet, b"{\\"key\\":\\"last-event\\"}", &mut res) {
        Ok(answer) => match json_string(answer, "value") {
            Some(id) => out.push_str("\\"").push(id).push_str("\\"}"),
            None => out.push_str("null}"),
        },
        Err(error) => return host_error(error),
    };
    plughost::output(out.as_bytes());
    0
}
`;
}
