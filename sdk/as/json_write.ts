/**
 * The serializer behind `json.ts`: writes the same text as JavaScript's
 * `JSON.stringify` (no spaces; `"`, `\` and control characters escaped; lone
 * surrogates written as `\uXXXX` so the output is always valid UTF-16 and so
 * valid UTF-8 once encoded; numbers as `json_number.ts` formats them).
 * @module
 */

import {
  JSONArray,
  JSONBool,
  JSONKind,
  JSONNumber,
  JSONObject,
  JSONString,
  JSONValue,
} from "./json";
import { formatNumber } from "./json_number";

const HEX = "0123456789abcdef";

function hex4(c: i32): string {
  return "\\u" + HEX.charAt((c >> 12) & 15) + HEX.charAt((c >> 8) & 15) +
    HEX.charAt((c >> 4) & 15) + HEX.charAt(c & 15);
}

/** Appends `s` as a quoted JSON string literal. */
export function writeString(s: string, out: Array<string>): void {
  out.push('"');
  let start = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c == 0x22) esc = '\\"';
    else if (c == 0x5c) esc = "\\\\";
    else if (c < 0x20) {
      if (c == 0x08) esc = "\\b";
      else if (c == 0x09) esc = "\\t";
      else if (c == 0x0a) esc = "\\n";
      else if (c == 0x0c) esc = "\\f";
      else if (c == 0x0d) esc = "\\r";
      else esc = hex4(c);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A well-formed pair passes through; a lone half is escaped, as JSON.stringify does.
      if (c <= 0xdbff && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++;
          continue;
        }
      }
      esc = hex4(c);
    }
    if (esc !== null) {
      if (i > start) out.push(s.substring(start, i));
      out.push(esc);
      start = i + 1;
    }
  }
  if (n > start) out.push(start == 0 ? s : s.substring(start, n));
  out.push('"');
}

/** Appends the JSON text of `v`. */
export function writeValue(v: JSONValue, out: Array<string>): void {
  switch (v.kind) {
    case JSONKind.Null:
      out.push("null");
      break;
    case JSONKind.Bool:
      out.push(changetype<JSONBool>(v).value ? "true" : "false");
      break;
    case JSONKind.Number:
      out.push(formatNumber(changetype<JSONNumber>(v).value));
      break;
    case JSONKind.String:
      writeString(changetype<JSONString>(v).value, out);
      break;
    case JSONKind.Array: {
      const items = changetype<JSONArray>(v).items;
      out.push("[");
      for (let i = 0; i < items.length; i++) {
        if (i > 0) out.push(",");
        writeValue(items[i], out);
      }
      out.push("]");
      break;
    }
    case JSONKind.Object: {
      const o = changetype<JSONObject>(v);
      const keys = o.keys;
      out.push("{");
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) out.push(",");
        writeString(keys[i], out);
        out.push(":");
        writeValue(o.member(keys[i])!, out);
      }
      out.push("}");
      break;
    }
  }
}
