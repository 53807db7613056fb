/**
 * Event delivery's tables (docs/delivery.md): a durable cursor per
 * subscribing plugin over the append-only `events` log, one row per delivery
 * run, and the dead letters of events a subscriber failed too often.
 * @module
 */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** One row per subscribing plugin id: where its delivery stands, and who delivers it. */
export const eventSubscriptions = sqliteTable("event_subscriptions", {
  pluginId: text("plugin_id").primaryKey(),
  /** The `events` rowid of the last event handled (delivered, dead-lettered or expired). */
  cursor: integer("cursor").notNull(),
  /** The host delivering to it (a lease, so hosts sharing the database deliver once); NULL: none. */
  holder: text("holder"),
  /** When the holder's lease ends unless renewed, ms since the epoch. */
  leaseExpiresAt: integer("lease_expires_at").notNull(),
  /** Events delivered (a run that ended ok). */
  delivered: integer("delivered").notNull(),
  /** Delivery runs that failed (each retry counts). */
  failures: integer("failures").notNull(),
  /** Events given up on after the last attempt (see event_dead_letters). */
  deadLettered: integer("dead_lettered").notNull(),
  /** Events skipped because their topic's TTL had passed. */
  expired: integer("expired").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** One row per delivery run: which event it carried, to whom, which attempt, how it ended. */
export const eventDeliveries = sqliteTable("event_deliveries", {
  runId: text("run_id").primaryKey(),
  pluginId: text("plugin_id").notNull(),
  eventId: text("event_id").notNull(),
  /** 1 for the first try; a redelivery of a dead letter continues its count. */
  attempt: integer("attempt").notNull(),
  /** `ok` or `error`. */
  status: text("status").notNull(),
  at: integer("at").notNull(),
}, (t) => [
  index("event_deliveries_plugin_idx").on(t.pluginId, t.eventId),
  index("event_deliveries_event_idx").on(t.eventId),
]);

/** Dead letter states: given up (`dead`), queued for redelivery by an operator, or redelivered ok. */
export const deadLetterStates = ["dead", "pending", "redelivered"] as const;

/** An event a subscriber failed on every attempt; an operator may queue it for redelivery. */
export const eventDeadLetters = sqliteTable("event_dead_letters", {
  id: text("id").primaryKey(),
  pluginId: text("plugin_id").notNull(),
  eventId: text("event_id").notNull(),
  /** The event's `events` rowid. */
  eventCursor: integer("event_cursor").notNull(),
  topic: text("topic").notNull(),
  attempts: integer("attempts").notNull(),
  errorClass: text("error_class").notNull(),
  errorMessage: text("error_message").notNull(),
  lastRunId: text("last_run_id"),
  state: text("state", { enum: deadLetterStates }).notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
}, (t) => [
  index("event_dead_letters_plugin_idx").on(t.pluginId),
  index("event_dead_letters_state_idx").on(t.state),
]);
