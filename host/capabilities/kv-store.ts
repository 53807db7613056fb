/**
 * The database side of plugin KV: each plugin's namespace cached in memory
 * (bounded by its quota), refreshed when a cheap fingerprint query says
 * another writer changed it, and a call's writes committed in one transaction.
 * @module
 */
import type { Client, InStatement, Transaction } from "@libsql/client";
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
    await guard("write kv", async () => {
      const tx = await this.#client.transaction("write");
      let fingerprints;
      try {
        fingerprints = await this.#apply(tx, pluginId, writes, quotaBytes);
        await tx.commit();
      } finally {
        tx.close();
      }
      this.#advance(pluginId, writes, fingerprints.before, fingerprints.after);
    });
  }

  async #apply(
    tx: Transaction,
    pluginId: string,
    writes: KvWrites,
    quotaBytes: number,
  ): Promise<{ before: string; after: string }> {
    const before = await tx.execute({ sql: FINGERPRINT_SQL, args: [pluginId] });
    const beforeBytes = Number(before.rows[0]?.[1] ?? 0);
    // Write times only grow per plugin, so every commit changes the fingerprint.
    const stamp = Math.max(Date.now(), Number(before.rows[0]?.[2] ?? 0) + 1);
    const statements: InStatement[] = [];
    for (const [key, value] of writes) {
      if (value === null) {
        statements.push({
          sql: "DELETE FROM kv WHERE plugin_id = ? AND key = ?",
          args: [pluginId, key],
        });
        continue;
      }
      const bytes = encoder.encode(value);
      statements.push({
        sql: "INSERT INTO kv (plugin_id, key, value, size, updated_at) VALUES (?, ?, ?, ?, ?) " +
          "ON CONFLICT (plugin_id, key) DO UPDATE SET value = excluded.value, " +
          "size = excluded.size, updated_at = excluded.updated_at",
        args: [pluginId, key, bytes, encoder.encode(key).byteLength + bytes.byteLength, stamp],
      });
    }
    await tx.batch(statements);
    const after = await tx.execute({ sql: FINGERPRINT_SQL, args: [pluginId] });
    const afterBytes = Number(after.rows[0]?.[1] ?? 0);
    if (afterBytes > quotaBytes && afterBytes > beforeBytes) {
      await tx.rollback();
      throw new HostError(
        "quota_exceeded",
        `kv quota of plugin '${pluginId}' exceeded at commit: the call's writes would use ${afterBytes} of ${quotaBytes} bytes (other calls wrote meanwhile); its writes were dropped`,
      );
    }
    return { before: fingerprintOf(before), after: fingerprintOf(after) };
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
