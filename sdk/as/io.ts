/**
 * Call input and output as UTF-8 bytes, text and JSON. Use these instead of
 * the PDK's `Host.outputString`, which writes the UTF-16 length and so cuts
 * off non-ASCII text.
 * @module
 */

import { error_set, output_set } from "@extism/as-pdk/lib/env";
import { inputBlockBytes, newBlock } from "./bulk";
import {
  JSONValue,
  ParseResult,
  stringifyBytes,
  tryParseBytes,
  utf8Decode,
  utf8Encode,
} from "./json";

/** Copies bytes into a new Extism memory block and returns its offset. */
export function storeBytes(bytes: Uint8Array): u64 {
  return newBlock(bytes);
}

/** The call's input bytes. */
export function inputBytes(): Uint8Array {
  return inputBlockBytes();
}

/** The call's input decoded from UTF-8. */
export function inputString(): string {
  return utf8Decode(inputBlockBytes());
}

/** Parses the call's input as JSON; a failed parse carries the error (never aborts). */
export function tryReadInputJson(): ParseResult {
  return tryParseBytes(inputBlockBytes());
}

/** Parses the call's input as JSON; aborts with "input is not valid JSON: ..." otherwise. */
export function readInputJson(): JSONValue {
  const r = tryParseBytes(inputBlockBytes());
  if (r.error !== null) abort("input is not valid JSON: " + r.error!);
  return r.value!;
}

/** Sets the call's output to these bytes. */
export function outputBytes(bytes: Uint8Array): void {
  output_set(storeBytes(bytes), <u64> bytes.length);
}

/** Sets the call's output to `s` encoded as UTF-8. */
export function outputString(s: string): void {
  outputBytes(utf8Encode(s));
}

/** Sets the call's output to the JSON text of `v` (UTF-8). */
export function writeOutputJson(v: JSONValue): void {
  outputBytes(stringifyBytes(v));
}

/**
 * Fails the call with `message` (the caller sees it as the plugin's error)
 * and returns 1, so an export can end with `return fail("...")`.
 */
export function fail(message: string): i32 {
  error_set(storeBytes(utf8Encode(message)));
  return 1;
}
