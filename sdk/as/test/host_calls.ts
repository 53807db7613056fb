// Test plugin: exercises every typed host binding and reports what it saw as JSON.
import { config, events, http, HttpRequest, invoke, kv, log, progress, secrets } from "../index";
import {
  JSONArray,
  JSONNull,
  JSONObject,
  JSONString,
  JSONValue,
} from "../json";
import { readInputJson, writeOutputJson } from "../io";
import { HostError } from "../result";

function errorJson(e: HostError | null): JSONValue {
  if (e === null) return new JSONNull();
  return new JSONObject().setString("code", e.code).setString(
    "message",
    e.message,
  );
}

/** kv.set, get, list (two pages), delete, get again. */
export function kv_cycle(): i32 {
  const input = readInputJson();
  const key = input.getString("key")!;
  const value = input.getString("value")!;
  const out = new JSONObject();
  const set = kv.set(key, value);
  out.set("setError", errorJson(set.error));
  const got = kv.get(key);
  out.setStringOrNull("got", got.value).set("getError", errorJson(got.error));
  const page = kv.list(input.getString("prefix")!, null, 1);
  if (page.ok) {
    const keys = new JSONArray();
    for (let i = 0; i < page.value.keys.length; i++) {
      keys.pushString(page.value.keys[i]);
    }
    out.set("page1", keys).setStringOrNull("cursor1", page.value.cursor);
    const next = kv.list(input.getString("prefix")!, page.value.cursor, 1);
    const keys2 = new JSONArray();
    for (let i = 0; i < next.value.keys.length; i++) {
      keys2.pushString(next.value.keys[i]);
    }
    out.set("page2", keys2).setStringOrNull("cursor2", next.value.cursor);
  } else {
    out.set("listError", errorJson(page.error));
  }
  const del = kv.delete(key);
  out.setBool("deleted", del.value).set("deleteError", errorJson(del.error));
  const after = kv.get(key);
  out.setStringOrNull("after", after.value);
  writeOutputJson(out);
  return 0;
}

/** secrets.get(name) -> {value, error}. */
export function secret(): i32 {
  const r = secrets.get(readInputJson().getString("name")!);
  writeOutputJson(
    new JSONObject().setStringOrNull("value", r.value).set(
      "error",
      errorJson(r.error),
    ),
  );
  return 0;
}

/** events.publish(topic, payload) -> {id, error}. */
export function publish(): i32 {
  const input = readInputJson();
  const r = events.publish(input.getString("topic")!, input.get("payload")!);
  writeOutputJson(
    new JSONObject().setStringOrNull("id", r.value).set(
      "error",
      errorJson(r.error),
    ),
  );
  return 0;
}

/** invoke(plugin, capability, input) -> {output, error}. */
export function call_other(): i32 {
  const input = readInputJson();
  const r = invoke(
    input.getString("plugin")!,
    input.getString("capability")!,
    input.get("input")!,
  );
  writeOutputJson(
    new JSONObject().set("output", r.ok ? r.value : new JSONNull()).set(
      "error",
      errorJson(r.error),
    ),
  );
  return 0;
}

/** http.fetch: {url, method, body?} -> {status, body, contentType, error}. */
export function fetch(): i32 {
  const input = readInputJson();
  const req = new HttpRequest(
    input.getString("url")!,
    input.getString("method")!,
  ).header("x-plugin", "zoë");
  const body = input.get("body");
  if (body !== null) req.json(body);
  const r = http.fetch(req);
  const out = new JSONObject().set("error", errorJson(r.error));
  if (r.ok) {
    out.setNumber("status", r.value.status).setString("body", r.value.text());
    const headers = r.value.headers;
    out.setStringOrNull(
      "contentType",
      headers === null ? null : headers.getString("content-type"),
    );
  }
  writeOutputJson(out);
  return 0;
}

/** Logs at every level, then aborts if asked, to show the abort message path. */
export function logs(): i32 {
  log.debug("debug Zoë");
  log.info("info 🎉");
  log.warn("warn ñ");
  log.error("error 中");
  writeOutputJson(new JSONString("logged"));
  return 0;
}

/** Result.unwrap on an error aborts the call with "code: message". */
export function unwrap_denied(): i32 {
  secrets.get("NOT_DECLARED").unwrap();
  return 0;
}

/** progress: two reports, then what the host answered to each. */
export function progress_steps(): i32 {
  const first = progress("half way", 50);
  const second = progress("done", 100, new JSONObject().setString("step", "last"));
  writeOutputJson(
    new JSONObject().setBool("first", first.ok).setBool("second", second.ok).set(
      "error",
      errorJson(second.error),
    ),
  );
  return 0;
}

/** config.get(key) -> {value, error}. */
export function config_read(): i32 {
  const r = config.get(readInputJson().getString("key")!);
  writeOutputJson(
    new JSONObject().set("value", r.ok ? r.value : new JSONNull()).set(
      "error",
      errorJson(r.error),
    ),
  );
  return 0;
}
