/**
 * The wire format every plughost host function shares (docs/abi.md): a UTF-8
 * JSON object in, `{"ok": ...}` or `{"error": {"code", "message"}}` out.
 * @module
 */
import { z } from "zod";
import { HostError } from "../errors.ts";

/** The host functions of ABI version 1, as registered in `extism:host/user` (wit/host.wit). */
export const HOST_FUNCTION_NAMES = [
  "kv_get",
  "kv_set",
  "kv_delete",
  "kv_list",
  "event_publish",
  "secret_get",
  "invoke",
  "progress",
  "config_get",
] as const;

/** One of the ABI's host function names. */
export type HostFunctionName = (typeof HOST_FUNCTION_NAMES)[number];

/** Largest request accepted, in UTF-8 bytes. */
export const MAX_REQUEST_BYTES = 2 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** `{"ok": value}` as bytes. */
export function okResult(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify({ ok: value ?? null }));
}

/** `{"error": {code, message}}` as bytes. */
export function errorResult(code: string, message: string): Uint8Array {
  return encoder.encode(JSON.stringify({ error: { code, message } }));
}

/**
 * A request the host refuses, carried to the function's top level as an error
 * result: a HostError of the one family whose code is an ABI error code (docs/abi.md).
 */
export class AbiError extends HostError {
  override readonly name = "AbiError";
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A string without unpaired surrogates (they have no UTF-8 form). */
export const wellFormed = z.string().refine((s) => !LONE_SURROGATE.test(s), {
  error: "must not contain unpaired surrogates",
});

/** Decodes and checks a request; throws AbiError `invalid_input` naming what is wrong. */
export function parseRequest<T>(fn: string, bytes: Uint8Array, schema: z.ZodType<T>): T {
  if (bytes.byteLength > MAX_REQUEST_BYTES) {
    throw new AbiError(
      "invalid_input",
      `${fn}: the request is ${bytes.byteLength} bytes; the limit is ${MAX_REQUEST_BYTES}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new AbiError(
      "invalid_input",
      `${fn}: the request is not UTF-8 JSON (${error instanceof Error ? error.message : error})`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AbiError("invalid_input", `${fn}: the request must be a JSON object`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `"${issue.path.join(".")}"` : "request";
    throw new AbiError("invalid_input", `${fn}: ${where} ${issue?.message ?? "is invalid"}`);
  }
  return parsed.data;
}

/** UTF-8 length of a string. */
export function utf8Length(text: string): number {
  return encoder.encode(text).byteLength;
}

/** Compares strings by their UTF-8 bytes (code point order), as SQLite's BINARY collation does. */
export function compareUtf8(a: string, b: string): number {
  // UTF-16 order differs from code point order only for surrogates vs U+E000..U+FFFF.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}
