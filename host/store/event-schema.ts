/**
 * The event as callers write it and as the store returns it. The zod schemas
 * are the source of truth; schemas/event.schema.json is generated from `Event`.
 * @module
 */
import { z } from "zod";

/** Version of the event shape written into every event. */
export const EVENT_SCHEMA_VERSION = 1;

/** Severity of an event. */
export const EventLevel = z.enum(["debug", "info", "warn", "error"]);
export type EventLevel = z.infer<typeof EventLevel>;

const JsonValue: z.ZodType<unknown> = z.json();
const Id = z.string().min(1).max(200);

/** What a caller passes to `store.events.append`. */
export const EventInput = z.object({
  type: z.string().min(1).max(200).regex(/^[A-Za-z0-9_.:-]+$/, {
    message: "event type may hold only letters, digits and . _ : -",
  }),
  level: EventLevel.default("info"),
  /** Who emitted it: `host`, `plugin:<id>`, `scheduler`, ... */
  source: z.string().min(1).max(200).default("host"),
  pluginId: Id.nullish(),
  runId: Id.nullish(),
  correlationId: Id.nullish(),
  /** Any JSON value. Checked by serializing it (a full z.json() parse costs 20 µs an event). */
  payload: z.unknown().default({}),
  /** Milliseconds since the epoch; defaults to now. */
  ts: z.number().int().nonnegative().optional(),
});
export type EventInput = z.input<typeof EventInput>;

/** A stored event. */
export const Event = z.object({
  id: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/).describe("ULID; sorts by time"),
  schemaVersion: z.literal(EVENT_SCHEMA_VERSION),
  ts: z.iso.datetime().describe("When the event happened (UTC, ISO 8601)"),
  type: z.string(),
  level: EventLevel,
  source: z.string(),
  pluginId: z.string().nullable(),
  runId: z.string().nullable(),
  correlationId: z.string().nullable(),
  payload: JsonValue,
}).meta({ title: "plughost event", description: "One entry of the append-only event log" });
export type Event = z.infer<typeof Event>;
