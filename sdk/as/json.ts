/**
 * JSON for AssemblyScript plugins: a value tree, a strict parser (RFC 8259)
 * and a serializer whose output matches JavaScript's `JSON.stringify` for the
 * same tree (escapes, numbers, lone surrogates). Text is UTF-16 inside
 * AssemblyScript; `parseBytes`/`stringifyBytes` convert from and to UTF-8.
 * @module
 */

// Part of every program that uses the SDK, so `--use abort=.../abort/plughostAbort` resolves.
import "./abort";
import { parseText } from "./json_parse";
import { JSONValue, ParseResult, stringify } from "./json_value";
import { utf8Decode, utf8Encode } from "./utf8";

export { utf8Decode, utf8Encode };

export {
  JSONArray,
  JSONBool,
  JSONKind,
  JSONNull,
  JSONNumber,
  JSONObject,
  JSONString,
  JSONValue,
  ParseResult,
  stringify,
} from "./json_value";

/** Parses JSON text; returns an error (never aborts) on malformed input or nesting deeper than 512. */
export function tryParse(text: string): ParseResult {
  return parseText(text);
}

/** Parses JSON text; aborts with the parse error if the text is not valid JSON. */
export function parse(text: string): JSONValue {
  const r = parseText(text);
  if (r.error !== null) abort("invalid JSON: " + r.error!);
  return r.value!;
}

/** Decodes UTF-8 bytes and parses them (see `tryParse`). */
export function tryParseBytes(bytes: Uint8Array): ParseResult {
  return parseText(utf8Decode(bytes));
}

/** Decodes UTF-8 bytes and parses them; aborts on invalid JSON. */
export function parseBytes(bytes: Uint8Array): JSONValue {
  return parse(utf8Decode(bytes));
}

/** Serializes a value to UTF-8 JSON bytes. */
export function stringifyBytes(v: JSONValue): Uint8Array {
  return utf8Encode(stringify(v));
}
