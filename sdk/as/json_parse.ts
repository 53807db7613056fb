/**
 * The strict JSON parser behind `json.ts` (RFC 8259: no comments, no trailing
 * commas, no leading zeros, no raw control characters in strings). Recursive
 * descent with a depth limit, so hostile input returns an error instead of
 * exhausting the wasm stack.
 * @module
 */

import {
  JSONArray,
  JSONBool,
  JSONNull,
  JSONNumber,
  JSONObject,
  JSONString,
  JSONValue,
  ParseResult,
} from "./json_value";
import { parseNumber } from "./json_number";

/** Deepest nesting of arrays and objects the parser accepts. */
export const MAX_DEPTH: i32 = 512;

class Parser {
  pos: i32 = 0;
  error: string | null = null;
  errorPos: i32 = 0;
  constructor(public text: string) {}

  fail(message: string): JSONValue | null {
    if (this.error === null) {
      this.error = message + " at offset " + this.pos.toString();
      this.errorPos = this.pos;
    }
    return null;
  }

  peek(): i32 {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) this.pos++;
      else break;
    }
  }

  literal(word: string): bool {
    if (this.text.substr(this.pos, word.length) == word) {
      this.pos += word.length;
      return true;
    }
    return false;
  }

  value(depth: i32): JSONValue | null {
    this.skipSpace();
    const c = this.peek();
    if (c == 0x7b) return this.object(depth + 1);
    if (c == 0x5b) return this.array(depth + 1);
    if (c == 0x22) {
      const s = this.string();
      return s === null ? null : new JSONString(s);
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c == 0x74 && this.literal("true")) return new JSONBool(true);
    if (c == 0x66 && this.literal("false")) return new JSONBool(false);
    if (c == 0x6e && this.literal("null")) return new JSONNull();
    if (c < 0) return this.fail("unexpected end of input");
    return this.fail("unexpected character '" + String.fromCharCode(c) + "'");
  }

  object(depth: i32): JSONValue | null {
    if (depth > MAX_DEPTH) {
      return this.fail("nesting deeper than " + MAX_DEPTH.toString());
    }
    this.pos++; // {
    const obj = new JSONObject();
    this.skipSpace();
    if (this.peek() == 0x7d) {
      this.pos++;
      return obj;
    }
    while (true) {
      this.skipSpace();
      if (this.peek() != 0x22) return this.fail("expected a string key");
      const key = this.string();
      if (key === null) return null;
      this.skipSpace();
      if (this.peek() != 0x3a) return this.fail("expected ':'");
      this.pos++;
      const v = this.value(depth);
      if (v === null) return null;
      obj.set(key, v);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c == 0x7d) return obj;
      if (c != 0x2c) {
        this.pos--;
        return this.fail("expected ',' or '}'");
      }
    }
    return null;
  }

  array(depth: i32): JSONValue | null {
    if (depth > MAX_DEPTH) {
      return this.fail("nesting deeper than " + MAX_DEPTH.toString());
    }
    this.pos++; // [
    const arr = new JSONArray();
    this.skipSpace();
    if (this.peek() == 0x5d) {
      this.pos++;
      return arr;
    }
    while (true) {
      const v = this.value(depth);
      if (v === null) return null;
      arr.items.push(v);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c == 0x5d) return arr;
      if (c != 0x2c) {
        this.pos--;
        return this.fail("expected ',' or ']'");
      }
    }
    return null;
  }

  hex4(): i32 {
    if (this.pos + 4 > this.text.length) return -1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.text.charCodeAt(this.pos + i);
      let d: i32;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      else return -1;
      v = (v << 4) | d;
    }
    this.pos += 4;
    return v;
  }

  /** Reads a string starting at its opening quote; escapes become UTF-16 code units. */
  string(): string | null {
    const t = this.text;
    this.pos++; // "
    const parts = new Array<string>();
    let start = this.pos;
    while (true) {
      if (this.pos >= t.length) {
        this.fail("unterminated string");
        return null;
      }
      const c = t.charCodeAt(this.pos);
      if (c == 0x22) {
        parts.push(t.substring(start, this.pos));
        this.pos++;
        return parts.join("");
      }
      if (c < 0x20) {
        this.fail("control character in string");
        return null;
      }
      if (c != 0x5c) {
        this.pos++;
        continue;
      }
      parts.push(t.substring(start, this.pos));
      this.pos++; // backslash
      const e = this.peek();
      this.pos++;
      if (e == 0x22) parts.push('"');
      else if (e == 0x5c) parts.push("\\");
      else if (e == 0x2f) parts.push("/");
      else if (e == 0x62) parts.push("\b");
      else if (e == 0x66) parts.push("\f");
      else if (e == 0x6e) parts.push("\n");
      else if (e == 0x72) parts.push("\r");
      else if (e == 0x74) parts.push("\t");
      else if (e == 0x75) {
        // \uXXXX is one UTF-16 code unit; a pair of them forms a surrogate pair naturally.
        const u = this.hex4();
        if (u < 0) {
          this.fail("invalid \\u escape");
          return null;
        }
        parts.push(String.fromCharCode(u));
      } else {
        this.pos--;
        this.fail("invalid escape");
        return null;
      }
      start = this.pos;
    }
    return null;
  }

  digits(): i32 {
    const begin = this.pos;
    while (true) {
      const c = this.peek();
      if (c < 0x30 || c > 0x39) break;
      this.pos++;
    }
    return this.pos - begin;
  }

  number(): JSONValue | null {
    const begin = this.pos;
    if (this.peek() == 0x2d) this.pos++;
    if (this.peek() == 0x30) {
      this.pos++;
      const c = this.peek();
      if (c >= 0x30 && c <= 0x39) return this.fail("leading zero in number");
    } else if (this.digits() == 0) {
      return this.fail("expected a digit");
    }
    if (this.peek() == 0x2e) {
      this.pos++;
      if (this.digits() == 0) return this.fail("expected a digit after '.'");
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      this.pos++;
      const s = this.peek();
      if (s == 0x2b || s == 0x2d) this.pos++;
      if (this.digits() == 0) return this.fail("expected a digit in exponent");
    }
    return new JSONNumber(parseNumber(this.text.substring(begin, this.pos)));
  }
}

/** Parses a whole document: one value with optional surrounding whitespace. */
export function parseText(text: string): ParseResult {
  const p = new Parser(text);
  const v = p.value(0);
  if (v !== null) {
    p.skipSpace();
    if (p.pos < text.length) p.fail("unexpected text after the value");
  }
  if (p.error !== null) return new ParseResult(null, p.error, p.errorPos);
  return new ParseResult(v, null, 0);
}
