/**
 * The `kv` table: each plugin's private key-value namespace.
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
