/**
 * The limits of a plugin's KV namespace and the one wording of their errors,
 * shared by the store (at commit) and a call's view (at each write).
 * @module
 */
import { HostError } from "../errors.ts";

/** Longest key, in UTF-8 bytes (docs/abi.md). */
export const MAX_KV_KEY_BYTES = 512;
/** Largest value, in UTF-8 bytes (docs/abi.md). */
export const MAX_KV_VALUE_BYTES = 1024 * 1024;
/** Keys a plugin may hold when its manifest sets no `permissions.kv.maxKeys` (docs/storage.md). */
export const DEFAULT_KV_MAX_KEYS = 10_000;

/**
 * Keys one call may write (set or delete); a commit's last step is one
 * transaction on the event loop's thread, and this bounds it (docs/storage.md).
 */
export const MAX_KV_WRITES_PER_CALL = 1_000;

/** What a plugin's namespace may hold. */
export interface KvLimits {
  /** Key plus value bytes, summed over the namespace. */
  quotaBytes: number;
  /** Number of keys. */
  maxKeys: number;
}

/** Usage of a namespace. */
export interface KvUsage {
  bytes: number;
  keys: number;
}

/** HostError `quota_exceeded`: the bytes would pass the quota. */
export function bytesExceeded(
  pluginId: string,
  usage: { used: number; next: number; quotaBytes: number },
  when = "",
): HostError {
  return new HostError(
    "quota_exceeded",
    `kv quota of plugin '${pluginId}' exceeded${when}: the namespace would use ${usage.next} of its ${usage.quotaBytes}-byte quota (${usage.used} used); delete keys or ask for a larger permissions.kv.quotaBytes`,
    { details: { ...usage, limit: "quotaBytes" } },
  );
}

/** HostError `quota_exceeded`: the keys would pass the key limit. */
export function keysExceeded(
  pluginId: string,
  usage: { used: number; next: number; maxKeys: number },
  when = "",
): HostError {
  return new HostError(
    "quota_exceeded",
    `kv key limit of plugin '${pluginId}' exceeded${when}: the namespace would hold ${usage.next} keys, over its limit of ${usage.maxKeys} (${usage.used} held); delete keys or ask for a larger permissions.kv.maxKeys`,
    { details: { ...usage, limit: "maxKeys" } },
  );
}

/** HostError `quota_exceeded`: one call wrote more keys than MAX_KV_WRITES_PER_CALL. */
export function writesExceeded(pluginId: string): HostError {
  return new HostError(
    "quota_exceeded",
    `kv writes of plugin '${pluginId}' exceeded: one call may set or delete at most ${MAX_KV_WRITES_PER_CALL} keys; split the work over several calls`,
    { details: { limit: "writesPerCall", max: MAX_KV_WRITES_PER_CALL } },
  );
}

const encoder = new TextEncoder();

/** UTF-8 length of a key; HostError `invalid_input` unless 1 to MAX_KV_KEY_BYTES. */
export function checkKvKey(key: string): number {
  const bytes = encoder.encode(key).byteLength;
  if (bytes === 0 || bytes > MAX_KV_KEY_BYTES) {
    throw new HostError(
      "invalid_input",
      `A kv key must be 1 to ${MAX_KV_KEY_BYTES} bytes of UTF-8, got ${bytes}`,
    );
  }
  return bytes;
}
