// example.configured: reads its config through config_get on every call, so an operator's
// change ('host config set example.configured greeting=Hi') shows in the next call.
// greet {"name"} -> {"message": "<greeting>, <name>!"}; read_config {"key"?} -> {"value"};
// on_config_change (hooks.onConfigChange) counts its runs in KV; changes -> that count.
import {
  config,
  fail,
  inputBytes,
  JSONObject,
  kv,
  outputString,
  tryParseBytes,
  tryReadInputJson,
  writeOutputJson,
} from "../../../sdk/as/index";

const CHANGES = "config_changes";

export function greet(): i32 {
  const input = tryReadInputJson();
  if (input.error !== null) return fail("input is not valid JSON: " + input.error!);
  const name = input.value!.getString("name");
  if (name === null) return fail('input needs a string "name", e.g. {"name":"Ada"}');
  const greeting = config.get("greeting");
  if (!greeting.ok) return fail(greeting.error!.toString());
  const message = greeting.value.asString() + ", " + name! + "!";
  writeOutputJson(new JSONObject().setString("message", message));
  return 0;
}

export function read_config(): i32 {
  let key = "";
  const bytes = inputBytes();
  if (bytes.length > 0) {
    const parsed = tryParseBytes(bytes);
    if (!parsed.ok || !parsed.value!.isObject) return fail('input must be {} or {"key": "a.b"}');
    const k = parsed.value!.getString("key");
    if (k !== null) key = k!;
  }
  const value = config.get(key);
  if (!value.ok) return fail(value.error!.toString());
  writeOutputJson(new JSONObject().set("value", value.value));
  return 0;
}

function count(): i64 {
  const stored = kv.get(CHANGES);
  if (!stored.ok || stored.value === null) return 0;
  return I64.parseInt(stored.value!);
}

export function on_config_change(): i32 {
  const next = count() + 1;
  const stored = kv.set(CHANGES, next.toString());
  if (!stored.ok) return fail(stored.error!.toString());
  outputString(next.toString());
  return 0;
}

export function changes(): i32 {
  outputString(count().toString());
  return 0;
}
