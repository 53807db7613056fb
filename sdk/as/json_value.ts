/**
 * The JSON value tree of `json.ts` and its serializer, which writes the same
 * text as JavaScript's `JSON.stringify` (no spaces; `"`, `\` and control
 * characters escaped; lone surrogates written as `\uXXXX` so the output is
 * always valid UTF-16 and so valid UTF-8 once encoded; numbers as
 * `json_number.ts` formats them). One file, since values print themselves
 * and the printer walks values; the parser (json_parse.ts) builds on it.
 * @module
 */

import { formatNumber } from "./json_number";

/** The kind of a JSON value. */
export enum JSONKind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

/** Any JSON value. Check `kind` (or the `is*` getters), then read with `as*`. */
export class JSONValue {
  constructor(public readonly kind: JSONKind) {}

  /** True for `null`. */
  get isNull(): bool {
    return this.kind == JSONKind.Null;
  }
  /** True for `true`/`false`. */
  get isBool(): bool {
    return this.kind == JSONKind.Bool;
  }
  /** True for a number. */
  get isNumber(): bool {
    return this.kind == JSONKind.Number;
  }
  /** True for a string. */
  get isString(): bool {
    return this.kind == JSONKind.String;
  }
  /** True for an array. */
  get isArray(): bool {
    return this.kind == JSONKind.Array;
  }
  /** True for an object. */
  get isObject(): bool {
    return this.kind == JSONKind.Object;
  }

  /** The boolean; aborts if this is not a boolean. */
  asBool(): bool {
    this.expect(JSONKind.Bool, "a boolean");
    return changetype<JSONBool>(this).value;
  }
  /** The number; aborts if this is not a number. */
  asNumber(): f64 {
    this.expect(JSONKind.Number, "a number");
    return changetype<JSONNumber>(this).value;
  }
  /** The number truncated to an integer; aborts if this is not a number. */
  asInteger(): i64 {
    return <i64> this.asNumber();
  }
  /** The string; aborts if this is not a string. */
  asString(): string {
    this.expect(JSONKind.String, "a string");
    return changetype<JSONString>(this).value;
  }
  /** The array; aborts if this is not an array. */
  asArray(): JSONArray {
    this.expect(JSONKind.Array, "an array");
    return changetype<JSONArray>(this);
  }
  /** The object; aborts if this is not an object. */
  asObject(): JSONObject {
    this.expect(JSONKind.Object, "an object");
    return changetype<JSONObject>(this);
  }

  /** An object's member, or null when this is not an object or has no such key. */
  get(key: string): JSONValue | null {
    if (this.kind != JSONKind.Object) return null;
    return changetype<JSONObject>(this).member(key);
  }
  /** An object member's string value, or null when missing or not a string. */
  getString(key: string): string | null {
    const v = this.get(key);
    if (v === null || v.kind != JSONKind.String) return null;
    return changetype<JSONString>(v).value;
  }
  /** An object member's number, or `fallback` when missing or not a number. */
  getNumber(key: string, fallback: f64 = NaN): f64 {
    const v = this.get(key);
    if (v === null || v.kind != JSONKind.Number) return fallback;
    return changetype<JSONNumber>(v).value;
  }
  /** An object member's boolean, or `fallback` when missing or not a boolean. */
  getBool(key: string, fallback: bool = false): bool {
    const v = this.get(key);
    if (v === null || v.kind != JSONKind.Bool) return fallback;
    return changetype<JSONBool>(v).value;
  }

  /** Serializes this value (same text as JavaScript's `JSON.stringify`). */
  toString(): string {
    return stringify(this);
  }

  private expect(kind: JSONKind, what: string): void {
    if (this.kind != kind) {
      abort("JSON value is not " + what + ": " + stringify(this));
    }
  }
}

/** `null`. */
export class JSONNull extends JSONValue {
  constructor() {
    super(JSONKind.Null);
  }
}

/** `true` or `false`. */
export class JSONBool extends JSONValue {
  constructor(public value: bool) {
    super(JSONKind.Bool);
  }
}

/** A number (IEEE 754 double, as in JavaScript). */
export class JSONNumber extends JSONValue {
  constructor(public value: f64) {
    super(JSONKind.Number);
  }
}

/** A string. */
export class JSONString extends JSONValue {
  constructor(public value: string) {
    super(JSONKind.String);
  }
}

/** An array of values. */
export class JSONArray extends JSONValue {
  /** The elements, in order; push to it or use the `push*` helpers. */
  items: Array<JSONValue> = [];
  constructor() {
    super(JSONKind.Array);
  }
  /** Number of elements. */
  get length(): i32 {
    return this.items.length;
  }
  /** Element `i`, or null when out of range. */
  at(i: i32): JSONValue | null {
    return i >= 0 && i < this.items.length ? this.items[i] : null;
  }
  /** Appends a value; returns this array for chaining. */
  push(v: JSONValue): JSONArray {
    this.items.push(v);
    return this;
  }
  /** Appends a string. */
  pushString(s: string): JSONArray {
    return this.push(new JSONString(s));
  }
  /** Appends a number. */
  pushNumber(n: f64): JSONArray {
    return this.push(new JSONNumber(n));
  }
}

/** An object: members keep their insertion order; setting an existing key replaces it in place. */
export class JSONObject extends JSONValue {
  /** Member names in order. Read-only: change members with `set`/`delete`. */
  keys: Array<string> = [];
  private values: Map<string, JSONValue> = new Map();
  constructor() {
    super(JSONKind.Object);
  }
  /** Whether the object has a member `key`. */
  has(key: string): bool {
    return this.values.has(key);
  }
  /** The member's value, or null when missing. */
  member(key: string): JSONValue | null {
    return this.values.has(key) ? this.values.get(key) : null;
  }
  /** Sets a member; returns this object for chaining. */
  set(key: string, v: JSONValue): JSONObject {
    if (!this.values.has(key)) this.keys.push(key);
    this.values.set(key, v);
    return this;
  }
  /** Sets a string member. */
  setString(key: string, s: string): JSONObject {
    return this.set(key, new JSONString(s));
  }
  /** Sets a string member, or `null` when `s` is null. */
  setStringOrNull(key: string, s: string | null): JSONObject {
    return s === null
      ? this.set(key, new JSONNull())
      : this.set(key, new JSONString(s));
  }
  /** Sets a number member. */
  setNumber(key: string, n: f64): JSONObject {
    return this.set(key, new JSONNumber(n));
  }
  /** Sets a boolean member. */
  setBool(key: string, b: bool): JSONObject {
    return this.set(key, new JSONBool(b));
  }
  /** Sets a `null` member. */
  setNull(key: string): JSONObject {
    return this.set(key, new JSONNull());
  }
  /** Removes a member; returns whether it existed. */
  delete(key: string): bool {
    if (!this.values.has(key)) return false;
    this.values.delete(key);
    const i = this.keys.indexOf(key);
    if (i >= 0) this.keys.splice(i, 1);
    return true;
  }
}

/** The outcome of `tryParse`: a value, or an error message with the UTF-16 offset it refers to. */
export class ParseResult {
  constructor(
    public value: JSONValue | null,
    public error: string | null,
    public position: i32,
  ) {}
  /** True when parsing succeeded. */
  get ok(): bool {
    return this.error === null;
  }
}

/** Serializes a value to JSON text, exactly as JavaScript's `JSON.stringify` would. */
export function stringify(v: JSONValue): string {
  const out = new Array<string>();
  writeValue(v, out);
  return out.join("");
}

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
