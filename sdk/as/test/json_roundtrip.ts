// Test plugin: parses the input with the SDK's JSON module and writes it back.
import {
  fail,
  inputBytes,
  inputString,
  outputString,
  readInputJson,
  tryReadInputJson,
  writeOutputJson,
} from "../io";
import {
  JSONArray,
  JSONKind,
  JSONNull,
  JSONObject,
  JSONValue,
  stringify,
  tryParse,
} from "../json";
import { formatNumber, parseNumber } from "../json_number";

/** Input JSON -> the same value serialized (as JSON.stringify(JSON.parse(input))). */
export function roundtrip(): i32 {
  const r = tryReadInputJson();
  if (!r.ok) return fail(r.error!);
  writeOutputJson(r.value!);
  return 0;
}

/** Input: a JSON array of numbers -> a JSON array of their JavaScript-style text. */
export function format_numbers(): i32 {
  const items = tryReadInputJson().value!.asArray().items;
  const out = new JSONArray();
  for (let i = 0; i < items.length; i++) {
    out.pushString(formatNumber(items[i].asNumber()));
  }
  writeOutputJson(out);
  return 0;
}

/** Input: a JSON array of number texts -> the numbers (parsed by the SDK), as the raw f64 bits in hex. */
export function parse_numbers(): i32 {
  const items = tryReadInputJson().value!.asArray().items;
  const out = new JSONArray();
  for (let i = 0; i < items.length; i++) {
    out.pushString(
      reinterpret<u64>(parseNumber(items[i].asString())).toString(16),
    );
  }
  writeOutputJson(out);
  return 0;
}

/** Input: a JSON value -> {kind, keys?, length?} describing it through the accessors. */
export function describe(): i32 {
  const v = tryReadInputJson().value!;
  const o = new JSONObject().setNumber("kind", <f64> v.kind);
  if (v.kind == JSONKind.Object) {
    const keys = new JSONArray();
    const ks = v.asObject().keys;
    for (let i = 0; i < ks.length; i++) keys.pushString(ks[i]);
    o.set("keys", keys);
    o.setStringOrNull("name", v.getString("name"));
    o.setNumber("n", v.getNumber("n", -1));
    o.setBool("flag", v.getBool("flag", false));
    o.setBool("hasMissing", v.asObject().has("missing"));
  } else if (v.kind == JSONKind.Array) {
    o.setNumber("length", v.asArray().length);
  }
  writeOutputJson(o);
  return 0;
}

/** Builds a tree in code, mutates it, and outputs it. */
export function build(): i32 {
  const inner = new JSONArray().pushNumber(1.5).pushString("two").push(
    new JSONNull(),
  );
  const o = new JSONObject()
    .setString("text", 'tab\there "quoted" back\\slash é 🎉 \u0001')
    .set("list", inner)
    .setBool("yes", true)
    .setNumber("big", 1e21)
    .setNumber("small", 1e-7)
    .setNumber("nan", NaN);
  o.setString("text2", "replaced later");
  o.setString("text2", "replaced");
  o.set("gone", new JSONNull());
  o.delete("gone");
  writeOutputJson(o);
  return 0;
}

/** Outputs the input bytes decoded and re-encoded as UTF-8 text (no JSON). */
export function echo_text(): i32 {
  const bytes = inputBytes();
  // A view that skips the first byte exercises offset handling in utf8Decode/outputBytes.
  const view = bytes.subarray(1);
  outputString(
    String.UTF8.decode(bytes.buffer).length.toString() + ":" + decodeView(view),
  );
  return 0;
}

function decodeView(view: Uint8Array): string {
  return String.UTF8.decodeUnsafe(view.dataStart, <usize> view.length);
}

/** A parse error reported without aborting: {ok, error, position}. */
export function parse_error(): i32 {
  const text = String.UTF8.decode(inputBytes().buffer);
  const r = tryParse(text);
  const o = new JSONObject().setBool("ok", r.ok).setStringOrNull(
    "error",
    r.error,
  ).setNumber(
    "position",
    r.position,
  );
  outputString(stringify(o));
  return 0;
}

// Keeps JSONValue referenced for readers of this file as an example of the API surface.
export function kind_of_null(): i32 {
  const v: JSONValue = new JSONNull();
  outputString(v.isNull ? "null" : "not null");
  return 0;
}

/** Input bytes -> decoded by the SDK -> encoded again as output (TextEncoder(TextDecoder(bytes))). */
export function recode(): i32 {
  outputString(inputString());
  return 0;
}

/** Input: a JSON string -> its value as UTF-8 (lone surrogates become U+FFFD). */
export function encode_string(): i32 {
  outputString(readInputJson().asString());
  return 0;
}
