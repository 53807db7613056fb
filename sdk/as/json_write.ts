/**
 * The serializer behind `json.ts`: writes the same text as JavaScript's
 * `JSON.stringify` (no spaces; `"`, `\` and control characters escaped; lone
 * surrogates written as `\uXXXX` so the output is always valid UTF-16 and so
 * valid UTF-8 once encoded; non-finite numbers as `null`).
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

/** Formats a number as JavaScript does (`Number.prototype.toString`), `null` if not finite. */
export function formatNumber(n: f64): string {
  if (!isFinite(n)) return "null";
  if (n == 0) return "0";
  // Integers below 2^53 print exactly as digits; the float printer would add ".0".
  if (Math.abs(n) < 9007199254740992.0 && Math.floor(n) == n) return (<i64> n).toString();
  return jsFloat(n);
}

/**
 * AssemblyScript's shortest round-trip digits, rearranged into JavaScript's
 * layout: plain digits for 1e-7 <= |n| < 1e21, otherwise `d.ddde+x`/`de-x`.
 */
function jsFloat(n: f64): string {
  const neg = n < 0;
  const a = neg ? -n : n;
  let s = a.toString();
  // Split into digits and decimal exponent: value = 0.DIGITS * 10^point.
  let mant = s;
  let exp = 0;
  const ei = s.indexOf("e");
  if (ei >= 0) {
    mant = s.substring(0, ei);
    exp = I32.parseInt(s.substring(ei + 1));
  }
  let dot = mant.indexOf(".");
  let digits = dot >= 0 ? mant.substring(0, dot) + mant.substring(dot + 1) : mant;
  let point = (dot >= 0 ? dot : mant.length) + exp;
  // Strip leading zeros (moving the point) and trailing zeros.
  let lead = 0;
  while (lead < digits.length - 1 && digits.charCodeAt(lead) == 0x30) lead++;
  digits = digits.substring(lead);
  point -= lead;
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) == 0x30) end--;
  digits = digits.substring(0, end);
  const k = digits.length;
  let r: string;
  if (point >= k && point <= 21) {
    r = digits + "0".repeat(point - k);
  } else if (point > 0 && point <= 21) {
    r = digits.substring(0, point) + "." + digits.substring(point);
  } else if (point > -6 && point <= 0) {
    r = "0." + "0".repeat(-point) + digits;
  } else {
    const e = point - 1;
    const es = e < 0 ? "-" + (-e).toString() : "+" + e.toString();
    r = k == 1 ? digits + "e" + es : digits.charAt(0) + "." + digits.substring(1) + "e" + es;
  }
  return neg ? "-" + r : r;
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
