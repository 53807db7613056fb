/**
 * Statements with their arguments written into the SQL text as literals, for
 * the writer's connection: libSQL runs a whole SQL text on its own thread
 * (`exec`), but binds arguments only on the calling one (~0.6 us a parameter
 * here, most of a short run's write). Text is quoted with `'` doubled (text
 * holding NUL, where SQLite's tokenizer would stop, as UTF-8 hex cast to
 * TEXT) and blobs are `X'..'`: both store the bytes binding would. Numbers are
 * written in JavaScript's shortest round-trip notation: a safe integer is
 * stored as an INTEGER (binding stores every number as REAL; the writer fills
 * only INTEGER and REAL columns, where both read back the same), and another
 * double as SQLite's decimal parser reads it, which is rarely one unit in the
 * last place off (as the JSON the finish and event statements always used).
 * Values binding refuses are refused here too.
 * @module
 */
import type { InStatement, InValue } from "@libsql/client";
import { Buffer } from "node:buffer";

/**
 * The statement's SQL with each `?` placeholder replaced by its argument as a
 * literal. The SQL is the store's own (ops.ts): placeholders outside quoted
 * strings and identifiers, no comments.
 */
export function inlineStatement(statement: InStatement): string {
  const { sql, args } = typeof statement === "string" ? { sql: statement, args: [] } : statement;
  if (!Array.isArray(args)) throw new TypeError("The writer binds positional arguments only");
  const pieces = templateOf(sql);
  const placeholders = pieces.length - 1;
  if (placeholders > args.length) {
    throw new RangeError(`More placeholders than the ${args.length} arguments`);
  }
  if (placeholders !== args.length) {
    throw new RangeError(`${args.length} arguments for ${placeholders} placeholders`);
  }
  let out = pieces[0]!;
  for (let i = 0; i < placeholders; i++) out += literal(args[i]) + pieces[i + 1]!;
  return out;
}

/**
 * The SQL texts between placeholders, by statement text. The writer renders
 * the same few statements (ops.ts) for every run: scanning each text once,
 * not at every render, took most of the rendering's time.
 */
const templates = new Map<string, readonly string[]>();
/** A bound on `templates`: the store's statements are a few dozen; generated ones are not kept. */
const MAX_TEMPLATES = 256;

function templateOf(sql: string): readonly string[] {
  const known = templates.get(sql);
  if (known !== undefined) return known;
  const pieces = splitPlaceholders(sql);
  if (templates.size < MAX_TEMPLATES) templates.set(sql, pieces);
  return pieces;
}

/** `sql` cut at each `?` placeholder; throws for the placeholder forms it cannot render. */
function splitPlaceholders(sql: string): string[] {
  const pieces: string[] = [];
  let from = 0;
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (quote !== undefined) {
      // A doubled quote inside a quoted span reads as close-then-open: same state after both.
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === "`") {
      quote = c;
    } else if ((c === ":" || c === "@" || c === "$") && /[A-Za-z_]/.test(sql[i + 1] ?? "")) {
      throw new RangeError(`Named parameters (${c}${sql[i + 1]}...) are not supported`);
    } else if (c === "?") {
      // Numbered (?1) and named (:a, @a, $a) parameters are not the store's and would misread.
      if (/[0-9]/.test(sql[i + 1] ?? "")) {
        throw new RangeError("Numbered placeholders are not supported");
      }
      pieces.push(sql.slice(from, i));
      from = i + 1;
    }
  }
  pieces.push(sql.slice(from));
  return pieces;
}

/**
 * Throws for what neither of the writer's paths (bound or literal) can store,
 * in @libsql/client's words: a non-finite number, undefined.
 */
export function refuseUnwritable(value: InValue | undefined): asserts value is InValue {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new RangeError("Only finite numbers (not Infinity or NaN) can be passed as arguments");
  }
  if (value === undefined) {
    throw new TypeError("undefined cannot be passed as argument to the database");
  }
}

/** One value as an SQL literal. */
export function literal(value: InValue | undefined): string {
  if (value === null) return "NULL";
  switch (typeof value) {
    case "string":
      return value.includes("\0")
        ? `CAST(X'${Buffer.from(value, "utf8").toString("hex")}' AS TEXT)`
        : `'${value.replaceAll("'", "''")}'`;
    case "number":
      refuseUnwritable(value);
      // Shortest round-trip notation (see above); a negative number in parentheses stays one operand.
      return value < 0 ? `(${value})` : String(value);
    case "bigint":
      if (value < -(2n ** 63n) || value >= 2n ** 63n) {
        throw new RangeError("Loss of precision: a bigint outside the 64-bit integer range");
      }
      return value < 0n ? `(${value})` : String(value);
    case "boolean":
      return value ? "1" : "0";
    case "undefined":
      refuseUnwritable(value); // throws
      break;
  }
  if (value instanceof Date) return literal(value.valueOf());
  if (value instanceof ArrayBuffer) return `X'${Buffer.from(value).toString("hex")}'`;
  // Bytes only: other views (Uint16Array, DataView) would store a byte order, and binding refuses them.
  if (value instanceof Uint8Array) {
    return `X'${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}'`;
  }
  throw new TypeError(`Cannot write a value of type ${typeof value} to the database`);
}
