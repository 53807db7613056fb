/**
 * The `run_records` table: one row per plugin invocation, whatever started it.
 * @module
 */
import { blob, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** What started a run. */
export const runTriggers = [
  "http",
  "cli",
  "schedule",
  "invoke",
  "event",
  "hook",
  "route",
  "replay",
] as const;
/** Where a run stands. `error` carries a class in `error_class`. */
export const runStatuses = ["running", "ok", "error", "interrupted"] as const;

/** One row per invocation: what ran, on what, within which limits, and how it ended. */
export const runRecords = sqliteTable("run_records", {
  id: text("id").primaryKey(),
  parentRunId: text("parent_run_id"),
  pluginId: text("plugin_id").notNull(),
  pluginVersion: text("plugin_version"),
  moduleDigest: text("module_digest").notNull(),
  capability: text("capability"),
  exportName: text("export_name").notNull(),
  trigger: text("trigger", { enum: runTriggers }).notNull(),
  correlationId: text("correlation_id"),
  inputDigest: text("input_digest").notNull(),
  inputSize: integer("input_size").notNull(),
  /** The input itself, kept only when it fits the configured bound; else NULL. */
  input: blob("input", { mode: "buffer" }),
  outputDigest: text("output_digest"),
  outputSize: integer("output_size"),
  configFingerprint: text("config_fingerprint").notNull(),
  /** JSON object of the limits applied (memoryMaxPages, timeoutMs, fuel, ...). */
  limits: text("limits").notNull(),
  status: text("status", { enum: runStatuses }).notNull(),
  errorClass: text("error_class"),
  errorMessage: text("error_message"),
  fuel: integer("fuel"),
  memoryPages: integer("memory_pages"),
  durationMs: integer("duration_ms"),
  startedAt: integer("started_at").notNull(),
  endedAt: integer("ended_at"),
  /** Which host process owns a running run, so a restart can tell dead runs from live ones. */
  hostName: text("host_name").notNull(),
  hostPid: integer("host_pid").notNull(),
  hostInstance: text("host_instance").notNull(),
}, (t) => [
  index("run_records_plugin_idx").on(t.pluginId, t.id),
  index("run_records_status_idx").on(t.status, t.id),
  index("run_records_parent_idx").on(t.parentRunId),
]);
