// deno-fmt-ignore-file: deno fmt drops decorators on declared functions.
/**
 * The plughost host functions, imported from Extism's user namespace. Each
 * takes an Extism memory handle holding the UTF-8 JSON request and returns a
 * handle holding the UTF-8 JSON response, `{"ok": ...}` or `{"error": {...}}`
 * (wit/host.wit and docs/abi.md). Plugins normally use the typed wrappers
 * (`kv`, `events`, `secrets`, `invoke`) instead of these.
 * @module
 */

import { free } from "@extism/as-pdk/lib/env";
import { blockBytes } from "./bulk";
import { storeBytes } from "./io";
import { JSONKind, JSONValue, stringifyBytes, tryParseBytes } from "./json";
import { err, errFrom, HostError, ok, Result } from "./result";

/** `kv_get {key}` -> `{value: string|null}`. */
// @ts-ignore: decorator
@external("extism:host/user", "kv_get")
export declare function kv_get(request: u64): u64;

/** `kv_set {key, value}` -> `null`. */
// @ts-ignore: decorator
@external("extism:host/user", "kv_set")
export declare function kv_set(request: u64): u64;

/** `kv_delete {key}` -> `{deleted: bool}`. */
// @ts-ignore: decorator
@external("extism:host/user", "kv_delete")
export declare function kv_delete(request: u64): u64;

/** `kv_list {prefix?, cursor?, limit?}` -> `{keys, cursor}`. */
// @ts-ignore: decorator
@external("extism:host/user", "kv_list")
export declare function kv_list(request: u64): u64;

/** `event_publish {topic, payload}` -> `{id}`. */
// @ts-ignore: decorator
@external("extism:host/user", "event_publish")
export declare function event_publish(request: u64): u64;

/** `progress {message?, percent?, data?}` -> `null` (ABI 1.2). */
// @ts-ignore: decorator
@external("extism:host/user", "progress")
export declare function progress(request: u64): u64;

/** `secret_get {name}` -> `{value}`. */
// @ts-ignore: decorator
@external("extism:host/user", "secret_get")
export declare function secret_get(request: u64): u64;

/** `invoke {plugin, capability, input}` -> the callee's output JSON. */
// @ts-ignore: decorator
@external("extism:host/user", "invoke")
export declare function invoke(request: u64): u64;

/** `config_get {key?}` -> `{value}`: the plugin's config (all of it without a key). */
// @ts-ignore: decorator
@external("extism:host/user", "config_get")
export declare function config_get(request: u64): u64;

/** Reads an Extism memory block's bytes. */
export function readBlock(handle: u64): Uint8Array {
  return blockBytes(handle);
}

/** Stores a request as UTF-8 JSON in a new block (the caller frees it after the call). */
export function encodeRequest(request: JSONValue): u64 {
  return storeBytes(stringifyBytes(request));
}

/** Frees the request block and decodes the response: `const r = finish(req, kv_get(req))`. */
export function finish(request: u64, response: u64): Result<JSONValue> {
  free(request);
  return decodeResponse(response);
}

/** Reads, frees and decodes a response block: `{"ok": v}` -> ok(v), `{"error": ...}` -> the error. */
export function decodeResponse(handle: u64): Result<JSONValue> {
  if (handle == 0) {
    return err<JSONValue>("host_error", "the host returned no response");
  }
  const bytes = readBlock(handle);
  free(handle);
  const parsed = tryParseBytes(bytes);
  if (!parsed.ok) {
    return err<JSONValue>(
      "host_error",
      "malformed host response: " + parsed.error!,
    );
  }
  const v = parsed.value!;
  if (v.kind == JSONKind.Object) {
    const okValue = v.get("ok");
    if (okValue !== null) return ok<JSONValue>(okValue);
    const e = v.get("error");
    if (e !== null) {
      const code = e.getString("code");
      const message = e.getString("message");
      return errFrom<JSONValue>(
        new HostError(
          code === null ? "host_error" : code,
          message === null ? "" : message,
        ),
      );
    }
  }
  return err<JSONValue>(
    "host_error",
    "malformed host response: " + v.toString(),
  );
}
