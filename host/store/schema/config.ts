/**
 * The `plugin_config` table: every version of the values operators set for a
 * plugin, per environment (`""` is the base every environment shares). Rows are
 * never changed: a set or unset adds the scope's whole new values as the next
 * version, so history is the table itself.
 * @module
 */
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** One row per stored version of one plugin's values in one scope. */
export const pluginConfig = sqliteTable("plugin_config", {
  /** Grows with every change on any host sharing the database: the cheap "anything new?" check. */
  seq: integer("seq").primaryKey({ autoIncrement: true }),
  pluginId: text("plugin_id").notNull(),
  /** The environment overlay this version belongs to; `""` for the base. */
  env: text("env").notNull(),
  /** 1, 2, ... per plugin and env. */
  version: integer("version").notNull(),
  /** JSON object: the scope's whole values at this version (not a diff). */
  values: text("values").notNull(),
  changedAt: integer("changed_at").notNull(),
  /** Who changed it: `cli`, or `http:<token name>`. */
  changedBy: text("changed_by").notNull(),
}, (t) => [
  uniqueIndex("plugin_config_version_idx").on(t.pluginId, t.env, t.version),
  index("plugin_config_seq_idx").on(t.pluginId, t.seq),
]);
