/**
 * The `kv` tables: each plugin's private key-value namespace, its usage row,
 * and the staging rows of large commits.
 * @module
 */
import { blob, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** One row per (plugin, key); `size` counts key and value bytes against the plugin's quota. */
export const kv = sqliteTable("kv", {
  pluginId: text("plugin_id").notNull(),
  key: text("key").notNull(),
  value: blob("value", { mode: "buffer" }).notNull(),
  size: integer("size").notNull(),
  updatedAt: integer("updated_at").notNull(),
}, (t) => [primaryKey({ columns: [t.pluginId, t.key] })]);

/**
 * One row per plugin with KV: bytes and keys it stores and a counter that every
 * write raises, all kept in the same transaction as the write, so quota checks
 * and change detection read one row instead of scanning the namespace.
 */
export const kvUsage = sqliteTable("kv_usage", {
  pluginId: text("plugin_id").primaryKey(),
  bytes: integer("bytes").notNull().default(0),
  keys: integer("keys").notNull().default(0),
  version: integer("version").notNull().default(0),
});

/**
 * The writes of a large commit, staged in chunks (each its own short write) and
 * then applied to `kv` in one transaction; `value` null means delete. Rows of
 * a commit that never applied (the process died) are removed on open.
 */
export const kvStaged = sqliteTable("kv_staged", {
  commitId: text("commit_id").notNull(),
  key: text("key").notNull(),
  value: blob("value", { mode: "buffer" }),
  size: integer("size").notNull(),
  createdAt: integer("created_at").notNull(),
}, (t) => [primaryKey({ columns: [t.commitId, t.key] })]);
