/**
 * The statements of KV writes. Every write keeps the plugin's `kv_usage` row
 * (bytes, keys, version) exact in the same transaction, looking up only the
 * written key by primary key, so a write costs the same at 10 keys or 100,000.
 * A limit check fails its batch (rolling it back) with a SQLite error the
 * repository recognizes: abs() of the smallest i64 ("integer overflow") for
 * bytes, json() of non-JSON ("malformed JSON") for keys.
 * @module
 */
import type { InStatement, InValue } from "@libsql/client";

const I64_MIN = "-9223372036854775808";
/** The error text of a failed bytes check. */
export const BYTES_FAILED = /integer overflow/i;
/** The error text of a failed keys check. */
export const KEYS_FAILED = /malformed JSON/i;

/** Creates the usage row when missing (first statement of every write batch). */
export function ensureUsage(pluginId: string): InStatement {
  return {
    sql: "INSERT INTO kv_usage (plugin_id, bytes, keys, version) VALUES (?, 0, 0, 0) " +
      "ON CONFLICT (plugin_id) DO NOTHING",
    args: [pluginId],
  };
}

/** Reads bytes, keys and version (zeros when the plugin never wrote). */
export function readUsage(pluginId: string): InStatement {
  return {
    sql: "SELECT coalesce(max(bytes), 0), coalesce(max(keys), 0), coalesce(max(version), 0) " +
      "FROM kv_usage WHERE plugin_id = ?",
    args: [pluginId],
  };
}

/** Sets one key: usage first (it reads the old row), then the row. */
export function setKey(
  pluginId: string,
  key: string,
  value: Uint8Array,
  size: number,
  now: number,
): InStatement[] {
  return [
    {
      sql: "UPDATE kv_usage SET " +
        "bytes = bytes + ?3 - coalesce((SELECT size FROM kv WHERE plugin_id = ?1 AND key = ?2), 0), " +
        "keys = keys + (NOT EXISTS (SELECT 1 FROM kv WHERE plugin_id = ?1 AND key = ?2)) " +
        "WHERE plugin_id = ?1",
      args: [pluginId, key, size],
    },
    {
      sql: "INSERT INTO kv (plugin_id, key, value, size, updated_at) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (plugin_id, key) DO UPDATE SET value = excluded.value, " +
        "size = excluded.size, updated_at = excluded.updated_at",
      args: [pluginId, key, value, size, now],
    },
  ];
}

/** Deletes one key: usage first, then the row. */
export function deleteKey(pluginId: string, key: string): InStatement[] {
  return [
    {
      sql: "UPDATE kv_usage SET " +
        "bytes = bytes - coalesce((SELECT size FROM kv WHERE plugin_id = ?1 AND key = ?2), 0), " +
        "keys = keys - (EXISTS (SELECT 1 FROM kv WHERE plugin_id = ?1 AND key = ?2)) " +
        "WHERE plugin_id = ?1",
      args: [pluginId, key],
    },
    { sql: "DELETE FROM kv WHERE plugin_id = ? AND key = ?", args: [pluginId, key] },
  ];
}

/** Raises the version: every commit changes it, so caches know to reload. */
export function bumpVersion(pluginId: string): InStatement {
  return { sql: "UPDATE kv_usage SET version = version + 1 WHERE plugin_id = ?", args: [pluginId] };
}

/**
 * Before one key's write: fails when it would grow the namespace past a limit
 * (a null limit is not checked). The new size and whether the key is new are
 * computed here, inside the transaction.
 */
export function checkOneWrite(
  pluginId: string,
  key: string,
  size: number,
  limits: { quotaBytes: number | null; maxKeys: number | null },
): InStatement[] {
  const old = "(SELECT size FROM kv WHERE plugin_id = ?1 AND key = ?2)";
  const usage = (column: string) => `(SELECT ${column} FROM kv_usage WHERE plugin_id = ?1)`;
  return [
    {
      sql: `SELECT CASE WHEN ?4 IS NOT NULL AND ?3 > coalesce(${old}, 0) AND ` +
        `${usage("bytes")} - coalesce(${old}, 0) + ?3 > ?4 THEN abs(${I64_MIN}) ELSE 0 END`,
      args: [pluginId, key, size, limits.quotaBytes],
    },
    {
      sql: `SELECT CASE WHEN ?3 IS NOT NULL AND ${old} IS NULL AND ${usage("keys")} + 1 > ?3 ` +
        "THEN json('limit') ELSE 0 END",
      args: [pluginId, key, limits.maxKeys],
    },
  ];
}

/**
 * After a commit's writes: fails when the namespace ends over a limit and grew
 * past what the call started from (a call that shrinks or keeps its usage
 * always commits, so a plugin over a lowered limit can still clean up).
 */
export function checkAfterCommit(
  pluginId: string,
  limits: { quotaBytes: number; maxKeys: number },
  start: { bytes: number; keys: number },
): InStatement[] {
  return [
    {
      sql: `SELECT CASE WHEN bytes > ? AND bytes > ? THEN abs(${I64_MIN}) ELSE 0 END ` +
        "FROM kv_usage WHERE plugin_id = ?",
      args: [limits.quotaBytes, start.bytes, pluginId],
    },
    {
      sql: "SELECT CASE WHEN keys > ? AND keys > ? THEN json('limit') ELSE 0 END " +
        "FROM kv_usage WHERE plugin_id = ?",
      args: [limits.maxKeys, start.keys, pluginId],
    },
  ];
}

/** One chunk of a large commit into `kv_staged`, as one multi-row insert. */
export function stageChunk(
  commitId: string,
  rows: readonly { key: string; value: Uint8Array | null; size: number }[],
  now: number,
): InStatement {
  const args: InValue[] = [];
  for (const row of rows) args.push(commitId, row.key, row.value, row.size, now);
  return {
    sql: "INSERT INTO kv_staged (commit_id, key, value, size, created_at) VALUES " +
      rows.map(() => "(?, ?, ?, ?, ?)").join(", "),
    args,
  };
}

/**
 * Applies a staged commit to `kv` set-wise: usage from the staged rows joined
 * with the old ones, then the upserts, the deletes, and the staging rows gone.
 */
export function applyStaged(pluginId: string, commitId: string, now: number): InStatement[] {
  const old = "(SELECT k.size FROM kv k WHERE k.plugin_id = ?1 AND k.key = s.key)";
  return [
    {
      sql: "UPDATE kv_usage SET " +
        "bytes = bytes + (SELECT coalesce(sum(CASE WHEN s.value IS NULL THEN 0 ELSE s.size END " +
        `- coalesce(${old}, 0)), 0) FROM kv_staged s WHERE s.commit_id = ?2), ` +
        "keys = keys + (SELECT coalesce(sum(CASE WHEN s.value IS NULL THEN " +
        `-(${old} IS NOT NULL) ELSE (${old} IS NULL) END), 0) ` +
        "FROM kv_staged s WHERE s.commit_id = ?2) WHERE plugin_id = ?1",
      args: [pluginId, commitId],
    },
    {
      sql: "INSERT INTO kv (plugin_id, key, value, size, updated_at) " +
        "SELECT ?1, key, value, size, ?3 FROM kv_staged WHERE commit_id = ?2 AND value IS NOT NULL " +
        "ON CONFLICT (plugin_id, key) DO UPDATE SET value = excluded.value, " +
        "size = excluded.size, updated_at = excluded.updated_at",
      args: [pluginId, commitId, now],
    },
    {
      sql: "DELETE FROM kv WHERE plugin_id = ?1 AND key IN " +
        "(SELECT key FROM kv_staged WHERE commit_id = ?2 AND value IS NULL)",
      args: [pluginId, commitId],
    },
    { sql: "DELETE FROM kv_staged WHERE commit_id = ?", args: [commitId] },
  ];
}
