/**
 * One call's view of its plugin's KV namespace: a snapshot taken before the
 * call plus the call's own writes, which the host commits after a successful
 * call and drops after a failed one. Answers synchronously, as host functions
 * in the main thread must, and checks each write against the plugin's limits
 * (quota bytes and key count) with the store's own wording.
 * @module
 */
import {
  bytesExceeded,
  checkKvKey,
  keysExceeded,
  type KvLimits,
  type KvSnapshot,
  MAX_KV_VALUE_BYTES,
  MAX_KV_WRITES_PER_CALL,
  writesExceeded,
} from "../store/mod.ts";
import { AbiError, compareUtf8, utf8Length } from "./abi.ts";

/** A call's KV namespace. */
export class KvView {
  readonly #pluginId: string;
  readonly #base: KvSnapshot;
  readonly #limits: KvLimits;
  readonly #writes = new Map<string, string | null>();
  #bytes: number;
  #keys: number;

  /**
   * @param pluginId whose namespace
   * @param base the namespace before the call (from `store.kv.snapshot`)
   * @param limits the plugin's quota and key limit
   */
  constructor(pluginId: string, base: KvSnapshot, limits: KvLimits) {
    this.#pluginId = pluginId;
    this.#base = base;
    this.#limits = limits;
    this.#bytes = base.bytes;
    this.#keys = base.entries.size;
  }

  /** The snapshot the call started from (to commit or release). */
  get base(): KvSnapshot {
    return this.#base;
  }

  /** The call's writes (null = delete), to commit. */
  get writes(): ReadonlyMap<string, string | null> {
    return this.#writes;
  }

  /** Bytes used, the call's writes included. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The value of `key`, or null. */
  get(key: string): string | null {
    checkKvKey(key);
    return this.#value(key);
  }

  /** Sets `key`; HostError `quota_exceeded` when the namespace would pass a limit. */
  set(key: string, value: string): void {
    const keyBytes = checkKvKey(key);
    const valueBytes = utf8Length(value);
    if (valueBytes > MAX_KV_VALUE_BYTES) {
      throw new AbiError(
        "invalid_input",
        `kv_set: "value" is ${valueBytes} bytes; the limit is ${MAX_KV_VALUE_BYTES}`,
      );
    }
    const present = this.#value(key) !== null;
    const old = this.#size(key);
    const size = keyBytes + valueBytes;
    const next = this.#bytes - old + size;
    if (size > old && next > this.#limits.quotaBytes) {
      throw bytesExceeded(this.#pluginId, {
        used: this.#bytes,
        next,
        quotaBytes: this.#limits.quotaBytes,
      });
    }
    if (!present && this.#keys + 1 > this.#limits.maxKeys) {
      throw keysExceeded(this.#pluginId, {
        used: this.#keys,
        next: this.#keys + 1,
        maxKeys: this.#limits.maxKeys,
      });
    }
    this.#countWrite(key);
    this.#writes.set(key, value);
    this.#bytes = next;
    if (!present) this.#keys++;
  }

  /** Deletes `key`; true when it existed. */
  delete(key: string): boolean {
    checkKvKey(key);
    const old = this.#size(key);
    if (this.#value(key) === null) return false;
    this.#countWrite(key);
    this.#writes.set(key, null);
    this.#bytes -= old;
    this.#keys--;
    return true;
  }

  /**
   * One page of keys under `prefix` after `cursor`, in UTF-8 byte order: a
   * binary search in the snapshot's sorted keys (sorted once per snapshot
   * version, not per call), then at most `limit + 1` of them merged with this
   * call's own writes, so a page costs O(log n + limit), not a sort of the namespace.
   */
  list(prefix: string, cursor: string | null, limit: number): {
    keys: string[];
    cursor: string | null;
  } {
    const sorted = sortedKeys(this.#base);
    // Keys sharing a prefix are contiguous in byte order: start at the first >= prefix (> cursor).
    let i = lowerBound(sorted, prefix, false);
    if (cursor !== null) i = Math.max(i, lowerBound(sorted, cursor, true));
    const found: string[] = [];
    let fromBase = 0;
    for (; i < sorted.length && fromBase <= limit; i++) {
      const key = sorted[i]!;
      if (!key.startsWith(prefix)) break;
      if (this.#writes.get(key) === null) continue; // deleted by this call
      found.push(key);
      fromBase++;
    }
    for (const [key, value] of this.#writes) {
      if (value === null || this.#base.entries.has(key) || !key.startsWith(prefix)) continue;
      if (cursor === null || compareUtf8(key, cursor) > 0) found.push(key);
    }
    found.sort(compareUtf8);
    const page = found.slice(0, limit);
    return {
      keys: page,
      cursor: found.length > limit ? page[page.length - 1]! : null,
    };
  }

  /** Refuses a key past the call's write limit (a key written twice counts once). */
  #countWrite(key: string): void {
    if (!this.#writes.has(key) && this.#writes.size >= MAX_KV_WRITES_PER_CALL) {
      throw writesExceeded(this.#pluginId);
    }
  }

  #value(key: string): string | null {
    const written = this.#writes.get(key);
    if (written !== undefined) return written;
    return this.#base.entries.get(key)?.value ?? null;
  }

  #size(key: string): number {
    const value = this.#value(key);
    return value === null ? 0 : utf8Length(key) + utf8Length(value);
  }
}

/** Each snapshot's keys in UTF-8 byte order, kept while its version and size stay the same. */
const sortedCache = new WeakMap<KvSnapshot, { version: number; size: number; keys: string[] }>();

function sortedKeys(base: KvSnapshot): string[] {
  const hit = sortedCache.get(base);
  if (hit && hit.version === base.version && hit.size === base.entries.size) return hit.keys;
  // Moved forward by one commit since the order was made: only its keys change place (a full
  // sort of 32,000 keys of 512 bytes took 56-59 ms of the host's thread after every commit).
  const keys = hit && base.changed?.from === hit.version
    ? followed(hit.keys, base, base.changed.keys)
    : [...base.entries.keys()].sort(compareUtf8);
  sortedCache.set(base, { version: base.version, size: base.entries.size, keys });
  return keys;
}

/** `previous` (sorted) with each of `changed` put in or taken out as `base` now has it. */
function followed(previous: readonly string[], base: KvSnapshot, changed: readonly string[]) {
  const keys = previous.slice();
  for (const key of changed) {
    const at = lowerBound(keys, key, false);
    const listed = keys[at] === key;
    const present = base.entries.has(key);
    if (present && !listed) keys.splice(at, 0, key);
    else if (!present && listed) keys.splice(at, 1);
  }
  return keys;
}

/** The first index whose key is >= `target` (> `target` when `strict`). */
function lowerBound(keys: readonly string[], target: string, strict: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareUtf8(keys[mid]!, target);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
