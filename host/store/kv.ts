/**
 * The kv repository: each plugin's own key-value namespace, its usage (bytes,
 * keys, a version) kept in one `kv_usage` row updated in the same transaction
 * as every write, and limits (quota bytes, key count) checked in that
 * transaction, so concurrent writers, even in other processes, cannot pass
 * them together. Every write costs the same however many keys the plugin has.
 *
 * Plugin calls read a cached snapshot of their namespace (reloaded, in pages
 * that yield, only when the version says another writer changed it) and
 * commit their writes after the call, set-wise through a staging table: up to
 * KV_COMMIT_CHUNK writes in one batch; more are staged in chunks that yield
 * to the event loop between them, then applied in one transaction, so a large
 * commit holds the loop only for that last step and lands whole or not at
 * all. A call writes at most MAX_KV_WRITES_PER_CALL keys (kv-limits.ts),
 * which bounds that step.
 * @module
 */
import type { Client, InStatement } from "@libsql/client";
import type { HostError } from "../errors.ts";
import { storageError } from "./client.ts";
import { clientTransact, type StatementResult, type Transact } from "./transact.ts";
import {
  bytesExceeded,
  checkKvKey,
  keysExceeded,
  type KvLimits,
  type KvUsage,
} from "./kv-limits.ts";
import {
  applyStaged,
  bumpVersion,
  BYTES_FAILED,
  checkAfterCommit,
  checkOneWrite,
  deleteKey,
  ensureUsage,
  KEYS_FAILED,
  readUsage,
  setKey,
  stageChunk,
} from "./kv-sql.ts";
import { ulid } from "./ulid.ts";

/** Writes per batch: a commit up to this size is one batch, a larger one is staged in chunks. */
export const KV_COMMIT_CHUNK = 500;
/** Rows per page when a snapshot is (re)loaded. */
const LOAD_PAGE = 2000;

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

/** One stored entry of a snapshot. */
export interface KvItem {
  value: string;
  /** Key bytes plus value bytes. */
  size: number;
}

/** A plugin's namespace as of one version; read-only for its holders. */
export interface KvSnapshot {
  readonly version: number;
  readonly entries: ReadonlyMap<string, KvItem>;
  /** Bytes counted against the quota (keys plus values). */
  readonly bytes: number;
  /**
   * When this snapshot was moved forward in place by one commit: the version
   * it came from and the keys that commit set or deleted (so an index of the
   * keys, kv_list's order, can follow without reading them all again).
   */
  readonly changed?: { readonly from: number; readonly keys: readonly string[] };
}

/** The writes of one call: a value to set, or null to delete. */
export type KvWrites = ReadonlyMap<string, string | null>;

/** A cached snapshot and how many calls are reading it (it is changed in place only at zero). */
interface Cached {
  version: number;
  entries: Map<string, KvItem>;
  bytes: number;
  readers: number;
  changed?: { from: number; keys: string[] };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Key-value storage per plugin. */
export class KvRepository {
  readonly #client: Client;
  readonly #transact: Transact;
  readonly #cache = new Map<string, Cached>();

  /**
   * Used by openStore; callers get the instance as `store.kv`. Writes go
   * through `transact` when given (the writer's connection, write-connection.ts:
   * its COMMIT, and the fsync, run off the event loop; the client's own
   * batches commit on it, 1-3 ms idle and tens of ms on a busy disk per write),
   * else through the client.
   */
  constructor(client: Client, transact?: Transact) {
    this.#client = client;
    this.#transact = transact ?? clientTransact(client);
  }

  /** The value of a key, or undefined. */
  async get(pluginId: string, key: string): Promise<Uint8Array | undefined> {
    checkKvKey(key);
    const result = await this.#run("read kv", () =>
      this.#client.execute({
        sql: "SELECT value FROM kv WHERE plugin_id = ? AND key = ?",
        args: [pluginId, key],
      }));
    const value = result.rows[0]?.[0];
    return value instanceof ArrayBuffer ? new Uint8Array(value) : undefined;
  }

  /**
   * Sets a key. With `quotaBytes` or `maxKeys`, a write that grows the
   * namespace past either throws HostError `quota_exceeded` and changes
   * nothing. Durable when the promise resolves.
   */
  async set(
    pluginId: string,
    key: string,
    value: Uint8Array,
    options: { quotaBytes?: number | undefined; maxKeys?: number | undefined } = {},
  ): Promise<void> {
    const size = checkKvKey(key) + value.byteLength;
    const limits = { quotaBytes: options.quotaBytes ?? null, maxKeys: options.maxKeys ?? null };
    await this.#write(pluginId, [
      ensureUsage(pluginId),
      ...checkOneWrite(pluginId, key, size, limits),
      ...setKey(pluginId, key, value, size, Date.now()),
      bumpVersion(pluginId),
    ], async (kind) => {
      const usage = await this.usage(pluginId);
      return kind === "bytes"
        ? bytesExceeded(pluginId, {
          used: usage.bytes,
          next: usage.bytes + size,
          quotaBytes: limits.quotaBytes ?? 0,
        })
        : keysExceeded(pluginId, {
          used: usage.keys,
          next: usage.keys + 1,
          maxKeys: limits.maxKeys ?? 0,
        });
    });
  }

  /** Deletes a key; true when it existed. */
  async delete(pluginId: string, key: string): Promise<boolean> {
    checkKvKey(key);
    const results = await this.#write(pluginId, [
      ensureUsage(pluginId),
      ...deleteKey(pluginId, key),
      bumpVersion(pluginId),
    ]);
    return (results[2]?.rowsAffected ?? 0) > 0;
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

  /** How much a plugin stores: keys and bytes counted against its quota (one row read). */
  async usage(pluginId: string): Promise<KvUsage> {
    const { bytes, keys } = await this.#usage(pluginId);
    return { keys, bytes };
  }

  /**
   * The plugin's namespace for one call: the cached snapshot when its version
   * is current, else reloaded in pages. Hand it back with `commit` or `release`.
   */
  async snapshot(pluginId: string): Promise<KvSnapshot> {
    const { version } = await this.#usage(pluginId);
    let cached = this.#cache.get(pluginId);
    if (cached?.version !== version) {
      cached = await this.#load(pluginId, version);
      this.#cache.set(pluginId, cached);
    }
    cached.readers++;
    return cached;
  }

  /** A call is done with its snapshot without writing. */
  release(snapshot: KvSnapshot): void {
    const cached = snapshot as Cached;
    if (cached.readers > 0) cached.readers--;
  }

  /**
   * Applies a call's writes, atomically, and releases its snapshot. Throws
   * HostError `quota_exceeded` (nothing written) when they grow the namespace
   * past a limit, which concurrent calls can do together; `storage_error`
   * when the database fails.
   */
  async commit(
    pluginId: string,
    snapshot: KvSnapshot,
    writes: KvWrites,
    limits: KvLimits,
  ): Promise<void> {
    this.release(snapshot);
    if (writes.size === 0) return;
    const start = { bytes: snapshot.bytes, keys: snapshot.entries.size };
    const now = Date.now();
    const rows = [...writes].map(([key, value]) => {
      const bytes = value === null ? null : encoder.encode(value);
      return { key, value: bytes, size: value === null ? 0 : keyBytes(key) + bytes!.byteLength };
    });
    // Set-wise through kv_staged either way: a few statements instead of two per key. A small
    // commit stages inside its one batch; a large one in chunks of their own that yield first.
    const commitId = ulid(now);
    const statements = applyStaged(pluginId, commitId, now);
    if (rows.length <= KV_COMMIT_CHUNK) statements.unshift(stageChunk(commitId, rows, now));
    else await this.#stage(commitId, rows, now);
    let results: StatementResult[];
    try {
      results = await this.#write(pluginId, [
        readUsage(pluginId),
        ensureUsage(pluginId),
        ...statements,
        bumpVersion(pluginId),
        ...checkAfterCommit(pluginId, limits, start),
        readUsage(pluginId),
      ], async (kind) => {
        const now = await this.#usage(pluginId);
        const when = " at commit (other calls wrote meanwhile; this call's writes were dropped)";
        return kind === "bytes"
          ? bytesExceeded(pluginId, {
            used: now.bytes,
            next: now.bytes + Math.max(0, sizeDelta(snapshot, writes)),
            quotaBytes: limits.quotaBytes,
          }, when)
          : keysExceeded(pluginId, {
            used: now.keys,
            next: now.keys + Math.max(0, keysDelta(snapshot, writes)),
            maxKeys: limits.maxKeys,
          }, when);
      });
    } catch (error) {
      await this.#unstage(commitId);
      this.#cache.delete(pluginId);
      throw error;
    }
    const before = usageOf(results[0]!);
    const after = usageOf(results[results.length - 1]!);
    this.#advance(pluginId, snapshot, writes, before.version, after);
  }

  /** Removes staging rows of commits that never applied (their process died), older than `ms`. */
  async dropStaleStaged(ms = 3_600_000): Promise<void> {
    await this.#run("clean kv staging", () =>
      this.#transact([{
        sql: "DELETE FROM kv_staged WHERE created_at < ?",
        args: [Date.now() - ms],
      }]));
  }

  async #stage(
    commitId: string,
    rows: readonly { key: string; value: Uint8Array | null; size: number }[],
    now: number,
  ): Promise<void> {
    try {
      for (let i = 0; i < rows.length; i += KV_COMMIT_CHUNK) {
        await this.#run(
          "stage kv",
          () => this.#transact([stageChunk(commitId, rows.slice(i, i + KV_COMMIT_CHUNK), now)]),
        );
        await yieldToLoop();
      }
    } catch (error) {
      await this.#unstage(commitId);
      throw error;
    }
  }

  async #unstage(commitId: string): Promise<void> {
    await this.#transact([{
      sql: "DELETE FROM kv_staged WHERE commit_id = ?",
      args: [commitId],
    }])
      .catch(() => {});
  }

  /** After a commit: the cached snapshot moved forward by the writes, unless someone else wrote. */
  #advance(
    pluginId: string,
    snapshot: KvSnapshot,
    writes: KvWrites,
    before: number,
    after: { version: number; bytes: number },
  ): void {
    const cached = this.#cache.get(pluginId);
    if (!cached || cached !== snapshot || cached.version !== before) {
      this.#cache.delete(pluginId);
      return;
    }
    // Changed in place when no call reads it (the common case: O(writes), not O(keys)).
    const target = cached.readers === 0
      ? cached
      : { ...cached, entries: new Map(cached.entries), readers: 0 };
    for (const [key, value] of writes) {
      if (value === null) target.entries.delete(key);
      else {target.entries.set(key, {
          value,
          size: keyBytes(key) + encoder.encode(value).byteLength,
        });}
    }
    target.changed = target === cached ? { from: before, keys: [...writes.keys()] } : undefined;
    target.version = after.version;
    target.bytes = after.bytes;
    this.#cache.set(pluginId, target);
  }

  async #load(pluginId: string, version: number): Promise<Cached> {
    // Pages that yield, so a large namespace never holds the loop; a write
    // between pages shows as a new version, and the load starts over (3 tries).
    for (let attempt = 0;; attempt++) {
      const entries = new Map<string, KvItem>();
      let bytes = 0;
      let after = "";
      for (;;) {
        const page = await this.#run("read kv", () =>
          this.#client.execute({
            sql: "SELECT key, value, size FROM kv WHERE plugin_id = ? AND key > ? " +
              "ORDER BY key LIMIT ?",
            args: [pluginId, after, LOAD_PAGE],
          }));
        for (const row of page.rows) {
          const raw = row[1];
          const size = Number(row[2]);
          after = String(row[0]);
          entries.set(after, {
            value: raw instanceof ArrayBuffer ? decoder.decode(raw) : String(raw ?? ""),
            size,
          });
          bytes += size;
        }
        if (page.rows.length < LOAD_PAGE) break;
        await yieldToLoop();
      }
      const now = (await this.#usage(pluginId)).version;
      // A stale version only makes the next call reload.
      if (now === version || attempt >= 2) return { version, entries, bytes, readers: 0 };
      version = now;
    }
  }

  async #usage(pluginId: string): Promise<KvUsage & { version: number }> {
    return usageOf(await this.#run("read kv", () => this.#client.execute(readUsage(pluginId))));
  }

  /** Runs a write batch; a failed limit check becomes the error `limitError` builds. */
  async #write(
    pluginId: string,
    statements: InStatement[],
    limitError?: (kind: "bytes" | "keys") => Promise<HostError>,
  ): Promise<StatementResult[]> {
    // One batch, not an interactive transaction: libSQL's busy wait is
    // synchronous, so holding a write lock across awaits could stall the whole
    // process while another connection of it waits for the lock on this same thread.
    try {
      return await this.#transact(statements);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      const kind = BYTES_FAILED.test(text) ? "bytes" : KEYS_FAILED.test(text) ? "keys" : null;
      if (kind && limitError) throw await limitError(kind);
      throw storageError(`Cannot write kv of plugin '${pluginId}'`, error);
    }
  }

  async #run<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw storageError(`Cannot ${what}`, error);
    }
  }
}

function usageOf(result: StatementResult): KvUsage & { version: number } {
  const row = result.rows[0];
  return {
    bytes: Number(row?.[0] ?? 0),
    keys: Number(row?.[1] ?? 0),
    version: Number(row?.[2] ?? 0),
  };
}

function keyBytes(key: string): number {
  return encoder.encode(key).byteLength;
}

/** Bytes the writes add to the snapshot (negative when they free space). */
function sizeDelta(snapshot: KvSnapshot, writes: KvWrites): number {
  let delta = 0;
  for (const [key, value] of writes) {
    delta -= snapshot.entries.get(key)?.size ?? 0;
    if (value !== null) delta += keyBytes(key) + encoder.encode(value).byteLength;
  }
  return delta;
}

/** Keys the writes add to the snapshot (negative when they delete). */
function keysDelta(snapshot: KvSnapshot, writes: KvWrites): number {
  let delta = 0;
  for (const [key, value] of writes) {
    const had = snapshot.entries.has(key);
    if (value === null && had) delta--;
    if (value !== null && !had) delta++;
  }
  return delta;
}

/** Lets timers and I/O run (works the same on Node and Deno). */
function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
