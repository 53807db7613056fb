/**
 * The `events` table: an append-only log of everything the host and its
 * plugins emitted. Triggers in a custom migration refuse UPDATE and DELETE.
 * @module
 */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Append-only event log; ids are ULIDs, so ordering by id is ordering by time. */
export const events = sqliteTable("events", {
  id: text("id").primaryKey(),
  schemaVersion: integer("schema_version").notNull(),
  /** Milliseconds since the Unix epoch. */
  ts: integer("ts").notNull(),
  type: text("type").notNull(),
  level: text("level", { enum: ["debug", "info", "warn", "error"] }).notNull(),
  source: text("source").notNull(),
  pluginId: text("plugin_id"),
  runId: text("run_id"),
  correlationId: text("correlation_id"),
  /** JSON text. */
  payload: text("payload").notNull(),
}, (t) => [
  // A SQLite index also orders by rowid, which grows in commit order: these serve
  // "WHERE type = ? ORDER BY rowid" and friends without a sort. Time filters use the id.
  index("events_type_idx").on(t.type),
  index("events_plugin_idx").on(t.pluginId),
  index("events_run_idx").on(t.runId),
]);
