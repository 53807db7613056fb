/**
 * The database side of plugin KV: each plugin's namespace cached in memory
 * (bounded by its quota), refreshed when a cheap fingerprint query says
 * another writer changed it, and a call's writes committed in one transaction.
 * @module
 */
import type { Client, InStatement } from "@libsql/client";
import { HostError } from "../errors.ts";
import type { Store } from "../store/mod.ts";

/** A plugin's namespace as of one fingerprint. */
export interface KvSnapshot {
  /** Count, bytes and write times of the plugin's rows; changes whenever a row does. */
  fingerprint: string;
  entries: ReadonlyMap<string, KvItem>;
  /** Bytes counted against the quota (keys plus values). */
  bytes: number;
}

/** One stored entry. */
export interface KvItem {
  value: string;
  /** Key bytes plus value bytes. */
  size: number;
}

/** The writes of one call: a value to set, or null to delete. */
export type KvWrites = ReadonlyMap<string, string | null>;

const FINGERPRINT_SQL = "SELECT count(*), coalesce(sum(size), 0), coalesce(max(updated_at), 0), " +
  "coalesce(sum(updated_at), 0) FROM kv WHERE plugin_id = ?";

/** The smallest i64: abs() of it is SQLite's "integer overflow" error. */
const I64_MIN = "-9223372036854775808";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Cached namespaces of every plugin, over the store's client. */
export class KvNamespaces {
  readonly #client: Client;
  readonly #snapshots = new Map<string, KvSnapshot>();

  /** @param store the host's open store */
  constructor(store: Store) {
    this.#client = store.client;
  }

  /** The plugin's namespace now: the cached one when its fingerprint still matches. */
  async current(pluginId: string): Promise<KvSnapshot> {
    const fingerprint = await guard(
      "read kv",
      async () =>
        fingerprintOf(await this.#client.execute({ sql: FINGERPRINT_SQL, args: [pluginId] })),
    );
    const cached = this.#snapshots.get(pluginId);
    if (cached?.fingerprint === fingerprint) return cached;
    const rows = await guard("read kv", () =>
      this.#client.execute({
        sql: "SELECT key, value, size FROM kv WHERE plugin_id = ?",
        args: [pluginId],
      }));
    const entries = new Map<string, KvItem>();
    let bytes = 0;
    for (const row of rows.rows) {
      const raw = row[1];
      const value = raw instanceof ArrayBuffer ? decoder.decode(raw) : String(raw ?? "");
      const size = Number(row[2]);
      entries.set(String(row[0]), { value, size });
      bytes += size;
    }
    // A write between the two queries only makes the next call reload again.
    const snapshot = { fingerprint, entries, bytes };
    this.#snapshots.set(pluginId, snapshot);
    return snapshot;
  }

  /**
   * Applies a call's writes in one transaction. Throws HostError
   * `quota_exceeded` (nothing written) when they grow the namespace past
   * `quotaBytes`, which concurrent calls can do together; `storage_error` when
   * the database fails.
   */
  async commit(pluginId: string, writes: KvWrites, quotaBytes: number): Promise<void> {
    if (writes.size === 0) return;
    // One batch, not an interactive transaction: libSQL's busy wait is
    // synchronous, so holding a write lock across awaits could stall the whole
    // process while the store's writer waits for it on this same thread.
    const startBytes = this.#snapshots.get(pluginId)?.bytes ?? 0;
    const statements: InStatement[] = [{ sql: FINGERPRINT_SQL, args: [pluginId] }];
    const now = Date.now();
    for (const [key, value] of writes) {
      if (value === null) {
        statements.push({
          sql: "DELETE FROM kv WHERE plugin_id = ? AND key = ?",
          args: [pluginId, key],
        });
        continue;
      }
      const bytes = encoder.encode(value);
      // Write times only grow per plugin, so every commit changes the fingerprint.
      statements.push({
        sql: "INSERT INTO kv (plugin_id, key, value, size, updated_at) VALUES (?, ?, ?, ?, " +
          "max(?, (SELECT coalesce(max(updated_at), 0) + 1 FROM kv WHERE plugin_id = ?))) " +
          "ON CONFLICT (plugin_id, key) DO UPDATE SET value = excluded.value, " +
          "size = excluded.size, updated_at = excluded.updated_at",
        args: [
          pluginId,
          key,
          bytes,
          encoder.encode(key).byteLength + bytes.byteLength,
          now,
          pluginId,
        ],
      });
    }
    // Fails the batch (rolling it back) when the namespace ends over quota and
    // grew past what this call started from; abs() of the smallest i64 overflows.
    statements.push({
      sql: `SELECT CASE WHEN total > ? AND total > ? THEN abs(${I64_MIN}) ELSE 0 END ` +
        "FROM (SELECT coalesce(sum(size), 0) AS total FROM kv WHERE plugin_id = ?)",
      args: [quotaBytes, startBytes, pluginId],
    });
    statements.push({ sql: FINGERPRINT_SQL, args: [pluginId] });
    let results;
    try {
      results = await this.#client.batch(statements, "write");
    } catch (error) {
      if (/integer overflow/i.test(error instanceof Error ? error.message : String(error))) {
        throw new HostError(
          "quota_exceeded",
          `kv quota of plugin '${pluginId}' exceeded at commit: the call's writes would take it past ${quotaBytes} bytes (other calls wrote meanwhile); its writes were dropped`,
        );
      }
      throw new HostError(
        "storage_error",
        `Cannot write kv: ${error instanceof Error ? error.message : error}`,
        {
          cause: error,
        },
      );
    }
    const before = results[0];
    const after = results[results.length - 1];
    if (!before || !after) {
      throw new HostError("storage_error", "Cannot write kv: incomplete batch result");
    }
    this.#advance(pluginId, writes, fingerprintOf(before), fingerprintOf(after));
  }

  /** After a commit: the cached snapshot plus the writes, unless someone else wrote too. */
  #advance(pluginId: string, writes: KvWrites, before: string, after: string): void {
    const cached = this.#snapshots.get(pluginId);
    if (cached && cached.fingerprint === before) {
      // Nobody else wrote since our snapshot: move it forward without a reload.
      const entries = new Map(cached.entries);
      let bytes = cached.bytes;
      for (const [key, value] of writes) {
        bytes -= entries.get(key)?.size ?? 0;
        if (value === null) {
          entries.delete(key);
        } else {
          const size = encoder.encode(key).byteLength + encoder.encode(value).byteLength;
          entries.set(key, { value, size });
          bytes += size;
        }
      }
      this.#snapshots.set(pluginId, { fingerprint: after, entries, bytes });
    } else {
      this.#snapshots.delete(pluginId);
    }
  }
}

function fingerprintOf(result: { rows: ArrayLike<unknown>[] }): string {
  const row = result.rows[0];
  return row ? Array.from(row, (v) => String(v)).join(":") : "0:0:0:0";
}

async function guard<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof HostError) throw error;
    throw new HostError(
      "storage_error",
      `Cannot ${what}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
