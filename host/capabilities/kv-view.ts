/**
 * One call's view of its plugin's KV namespace: a snapshot taken before the
 * call plus the call's own writes, which the host commits after a successful
 * call and drops after a failed one. Answers synchronously, as host functions
 * in the main thread must.
 * @module
 */
import { AbiError, compareUtf8, utf8Length } from "./abi.ts";
import type { KvSnapshot } from "./kv-store.ts";

/** Longest key, in UTF-8 bytes (docs/abi.md). */
export const MAX_KEY_BYTES = 512;
/** Largest value, in UTF-8 bytes (docs/abi.md). */
export const MAX_VALUE_BYTES = 1024 * 1024;

/** A call's KV namespace. */
export class KvView {
  readonly #base: KvSnapshot;
  readonly #quota: number;
  readonly #writes = new Map<string, string | null>();
  #bytes: number;

  /** @param base the namespace before the call; @param quotaBytes the plugin's quota */
  constructor(base: KvSnapshot, quotaBytes: number) {
    this.#base = base;
    this.#quota = quotaBytes;
    this.#bytes = base.bytes;
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
    checkKey(key);
    return this.#value(key);
  }

  /** Sets `key`; AbiError `quota_exceeded` when the namespace would grow past the quota. */
  set(key: string, value: string): void {
    const keyBytes = checkKey(key);
    const valueBytes = utf8Length(value);
    if (valueBytes > MAX_VALUE_BYTES) {
      throw new AbiError(
        "invalid_input",
        `kv_set: "value" is ${valueBytes} bytes; the limit is ${MAX_VALUE_BYTES}`,
      );
    }
    const old = this.#size(key);
    const size = keyBytes + valueBytes;
    const next = this.#bytes - old + size;
    if (size > old && next > this.#quota) {
      throw new AbiError(
        "quota_exceeded",
        `kv_set: storing ${size} bytes under this key would use ${next} of the ${this.#quota}-byte quota (${this.#bytes} used); delete keys or ask for a larger permissions.kv.quotaBytes`,
      );
    }
    this.#writes.set(key, value);
    this.#bytes = next;
  }

  /** Deletes `key`; true when it existed. */
  delete(key: string): boolean {
    checkKey(key);
    const old = this.#size(key);
    if (this.#value(key) === null) return false;
    this.#writes.set(key, null);
    this.#bytes -= old;
    return true;
  }

  /** One page of keys under `prefix` after `cursor`, in UTF-8 byte order. */
  list(prefix: string, cursor: string | null, limit: number): {
    keys: string[];
    cursor: string | null;
  } {
    const keys = new Set<string>();
    for (const key of this.#base.entries.keys()) if (key.startsWith(prefix)) keys.add(key);
    for (const [key, value] of this.#writes) {
      if (!key.startsWith(prefix)) continue;
      if (value === null) keys.delete(key);
      else keys.add(key);
    }
    const sorted = [...keys].filter((k) => cursor === null || compareUtf8(k, cursor) > 0)
      .sort(compareUtf8);
    const page = sorted.slice(0, limit);
    return {
      keys: page,
      cursor: sorted.length > limit ? page[page.length - 1]! : null,
    };
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

function checkKey(key: string): number {
  const bytes = utf8Length(key);
  if (bytes === 0 || bytes > MAX_KEY_BYTES) {
    throw new AbiError(
      "invalid_input",
      `"key" must be 1 to ${MAX_KEY_BYTES} bytes of UTF-8, got ${bytes}`,
    );
  }
  return bytes;
}
