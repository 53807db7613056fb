/**
 * The kv repository: each plugin's own key-value namespace, with a size quota
 * checked in the same write transaction as the write, so concurrent writers
 * (even in other processes) cannot overshoot it together.
 * @module
 */
import type { Client } from "@libsql/client";
import { HostError } from "../errors.ts";
import { storageError } from "./client.ts";

/** Longest key, in UTF-8 bytes. */
export const MAX_KV_KEY_BYTES = 1024;

/** One key of a listing. */
export interface KvEntry {
  key: string;
  /** Bytes counted against the quota: key plus value. */
  size: number;
  updatedAt: string;
}

/** One page of keys in byte order; `cursor` is set when more may follow. */
export interface KvPage {
  entries: KvEntry[];
  cursor: string | null;
}

const encoder = new TextEncoder();

/** Key-value storage per plugin. */
export class KvRepository {
  readonly #client: Client;

  /** Used by openStore; callers get the instance as `store.kv`. */
  constructor(client: Client) {
    this.#client = client;
  }

  /** The value of a key, or undefined. */
  async get(pluginId: string, key: string): Promise<Uint8Array | undefined> {
    checkKey(key);
    const result = await this.#run("read kv", () =>
      this.#client.execute({
        sql: "SELECT value FROM kv WHERE plugin_id = ? AND key = ?",
        args: [pluginId, key],
      }));
    const value = result.rows[0]?.[0];
    return value instanceof ArrayBuffer ? new Uint8Array(value) : undefined;
  }

  /**
   * Sets a key. With `quotaBytes`, the plugin's total (keys plus values, this
   * write included) must stay within it, or a HostError `quota_exceeded` is
   * thrown and nothing changes. Durable when the promise resolves. Check and
   * write are one statement, so concurrent writers cannot overshoot the quota.
   */
  async set(
    pluginId: string,
    key: string,
    value: Uint8Array,
    options: { quotaBytes?: number | undefined } = {},
  ): Promise<void> {
    const size = checkKey(key) + value.byteLength;
    const quota = options.quotaBytes ?? null;
    // One statement, so the quota check and the write are atomic without an interactive
    // transaction (whose awaits would let a synchronous busy wait elsewhere stall the process).
    const result = await this.#run("write kv", () =>
      this.#client.execute({
        sql: "INSERT INTO kv (plugin_id, key, value, size, updated_at) SELECT ?1, ?2, ?3, ?4, ?5 " +
          "WHERE ?6 IS NULL OR " +
          "(SELECT coalesce(sum(size), 0) FROM kv WHERE plugin_id = ?1 AND key <> ?2) + ?4 <= ?6 " +
          "ON CONFLICT (plugin_id, key) DO UPDATE SET value = excluded.value, " +
          "size = excluded.size, updated_at = excluded.updated_at",
        args: [pluginId, key, value, size, Date.now(), quota],
      }));
    if (result.rowsAffected === 0) {
      const used = (await this.usage(pluginId)).bytes;
      throw new HostError(
        "quota_exceeded",
        `kv quota of plugin '${pluginId}' exceeded: ${size} more bytes on top of ${used} would pass ${quota}; delete keys or raise permissions.kv.quotaBytes`,
        { details: { used, size, quotaBytes: quota } },
      );
    }
  }

  /** Deletes a key; true when it existed. */
  async delete(pluginId: string, key: string): Promise<boolean> {
    checkKey(key);
    const result = await this.#run("delete kv", () =>
      this.#client.execute({
        sql: "DELETE FROM kv WHERE plugin_id = ? AND key = ?",
        args: [pluginId, key],
      }));
    return result.rowsAffected > 0;
  }

  /** Keys of a plugin in byte order, optionally under a prefix, after a cursor. */
  async list(
    pluginId: string,
    options: { prefix?: string | undefined; cursor?: string | undefined; limit?: number } = {},
  ): Promise<KvPage> {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const prefix = options.prefix ?? "";
    // substr counts characters (code points), so pass the prefix length in code points.
    const args: (string | number)[] = [pluginId, prefix, [...prefix].length, prefix];
    let sql = "SELECT key, size, updated_at FROM kv WHERE plugin_id = ? AND key >= ? " +
      "AND substr(key, 1, ?) = ?";
    if (options.cursor !== undefined) {
      sql += " AND key > ?";
      args.push(options.cursor);
    }
    sql += " ORDER BY key LIMIT ?";
    args.push(limit);
    const result = await this.#run("list kv", () => this.#client.execute({ sql, args }));
    const entries = result.rows.map((row) => ({
      key: String(row[0]),
      size: Number(row[1]),
      updatedAt: new Date(Number(row[2])).toISOString(),
    }));
    return {
      entries,
      cursor: entries.length === limit ? entries[entries.length - 1]!.key : null,
    };
  }

  /** How much a plugin stores: number of keys and bytes counted against its quota. */
  async usage(pluginId: string): Promise<{ keys: number; bytes: number }> {
    const result = await this.#run("read kv", () =>
      this.#client.execute({
        sql: "SELECT count(*), coalesce(sum(size), 0) FROM kv WHERE plugin_id = ?",
        args: [pluginId],
      }));
    return { keys: Number(result.rows[0]?.[0] ?? 0), bytes: Number(result.rows[0]?.[1] ?? 0) };
  }

  async #run<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw storageError(`Cannot ${what}`, error);
    }
  }
}

function checkKey(key: string): number {
  const bytes = encoder.encode(key).length;
  if (bytes === 0 || bytes > MAX_KV_KEY_BYTES) {
    throw new HostError(
      "invalid_input",
      `A kv key must be 1 to ${MAX_KV_KEY_BYTES} bytes of UTF-8, got ${bytes}`,
    );
  }
  return bytes;
}
