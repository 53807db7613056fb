/**
 * The scheduler's tables: `schedules` (what runs when) and `leases` (one row
 * per handled occurrence, so several hosts sharing the database run each
 * occurrence once).
 * @module
 */
import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

/** One row per schedule, from a plugin manifest or added through the API/CLI. */
export const schedules = sqliteTable("schedules", {
  id: text("id").primaryKey(),
  /** Unique; manifest schedules are named `<plugin id>/<manifest name>`. */
  name: text("name").notNull(),
  pluginId: text("plugin_id").notNull(),
  capability: text("capability").notNull(),
  /** A croner pattern (5 or 6 fields); NULL for interval schedules. */
  cron: text("cron"),
  /** Milliseconds between occurrences, counted from `anchor_at`; NULL for cron schedules. */
  intervalMs: integer("interval_ms"),
  /** Input JSON text passed to the capability. */
  input: text("input").notNull(),
  /** IANA time zone of the cron pattern; NULL: UTC. */
  timezone: text("timezone"),
  /** `manifest` or `api`. */
  source: text("source").notNull(),
  /** The plugin version whose manifest declared it (manifest schedules). */
  pluginVersion: text("plugin_version"),
  /** `active` or `paused`. */
  state: text("state").notNull(),
  /** Missed occurrences policy at start: `skip` or `catch-up-once`. */
  missed: text("missed").notNull(),
  /** First occurrence of interval schedules and the start of missed-occurrence counting. */
  anchorAt: integer("anchor_at").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
}, (t) => [
  uniqueIndex("schedules_name_idx").on(t.name),
  index("schedules_plugin_idx").on(t.pluginId),
]);

/**
 * One row per occurrence some host handled: `held` while a run goes on (until
 * `expires_at`, renewed by the holder), then `done`; `skipped` (overlap) or
 * `missed` (host down) rows record occurrences that did not run.
 */
export const leases = sqliteTable("leases", {
  scheduleId: text("schedule_id").notNull(),
  /** Planned time of the occurrence, ms since the epoch. */
  occurrence: integer("occurrence").notNull(),
  holder: text("holder").notNull(),
  state: text("state").notNull(),
  expiresAt: integer("expires_at").notNull(),
  /** Times the occurrence was claimed (more than 1 after a takeover). */
  attempts: integer("attempts").notNull(),
  runId: text("run_id"),
  updatedAt: integer("updated_at").notNull(),
}, (t) => [
  primaryKey({ columns: [t.scheduleId, t.occurrence] }),
  index("leases_state_idx").on(t.state, t.expiresAt),
]);
