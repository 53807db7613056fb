/**
 * The events repository: append (through the batching writer) and query.
 * There is no update and no delete, here or in the database.
 * @module
 */
import { and, eq, getTableColumns, gte, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import { HostError } from "../errors.ts";
import { storageError } from "./client.ts";
import { type Event, EVENT_SCHEMA_VERSION, EventInput, EventLevel } from "./event-schema.ts";
import type { EventRow, StoreDb, WriteOp } from "./ops.ts";
import { toEvent } from "./rows.ts";
import { events } from "./schema/index.ts";
import { ulid, ulidFloor } from "./ulid.ts";
import type { BatchWriter } from "./writer.ts";

/** Largest payload accepted, as JSON text. */
export const MAX_EVENT_PAYLOAD_BYTES = 256 * 1024;

/** Filters for `query`; all optional, combined with AND. */
export interface EventQuery {
  /** Exact type, or a prefix ending in `.*` (`run.*` matches `run.started`). */
  type?: string | undefined;
  pluginId?: string | undefined;
  runId?: string | undefined;
  /** Only events at or after this time (ms since the epoch). */
  since?: number | undefined;
  /** Cursor from a previous page: only events committed after it. */
  after?: string | undefined;
  /** At most this many (default 100, at most 1000). */
  limit?: number | undefined;
  /** Take the newest `limit` matches instead of the oldest (still returned oldest first). */
  tail?: boolean | undefined;
}

/**
 * One page of events in commit order. `cursor` (opaque) continues after the
 * last event; it is set even on a short page, so a follower can poll with it.
 */
export interface EventPage {
  events: Event[];
  cursor: string | null;
}

/** One event of a batch: its cursor, what filters look at, and the event as JSON text. */
export interface EventBatchItem {
  cursor: string;
  type: string;
  pluginId: string | null;
  runId: string | null;
  /** The event exactly as `query` would return it, serialized (the payload is not re-parsed). */
  json: string;
}

/** A page of events with each one's cursor (see `EventsRepository.readBatch`). */
export interface EventBatch {
  items: EventBatchItem[];
  /** Continues after the last item (or is the cursor asked after, on an empty page). */
  cursor: string | null;
}

/** Appends and reads the append-only event log. */
export class EventsRepository {
  readonly #db: StoreDb;
  readonly #writer: BatchWriter<WriteOp>;

  /** Used by openStore; callers get the instance as `store.events`. */
  constructor(db: StoreDb, writer: BatchWriter<WriteOp>) {
    this.#db = db;
    this.#writer = writer;
  }

  /**
   * Queues an event and returns it (with its id) once durable. Throws a
   * HostError `invalid_input` at once when the event is malformed. Not
   * awaiting is safe: a write failure is retried and reported, never thrown
   * into an unrelated place.
   */
  append(input: EventInput): Promise<Event> {
    return this.appendWithId(input).written;
  }

  /**
   * Like `append`, but also returns the event's id at once, for callers that
   * must answer before the write (a plugin's `event_publish` in main mode).
   */
  appendWithId(input: EventInput): { id: string; written: Promise<Event> } {
    const row = fastRow(input) ?? toRow(checked(input));
    // The event returned is made from the row once it is durable: nothing more per queued
    // event stays alive meanwhile, and nothing is made before a caller can look.
    return { id: row.id, written: this.#writer.enqueueAs({ kind: "event", row }, writtenEvent) };
  }

  /** Events matching the filters, oldest first. Flushes this process's queue first. */
  async query(filter: EventQuery = {}): Promise<EventPage> {
    const rows = await this.#select(filter);
    const last = rows[rows.length - 1];
    return {
      events: rows.map(({ rowid: _, ...row }) => toEvent(row)),
      cursor: last === undefined ? filter.after ?? null : String(last.rowid),
    };
  }

  /**
   * Like `query`, with each event's own cursor and as JSON text: what an event
   * stream sends a batch of at once. The stored payload is JSON the host wrote,
   * so it is spliced in as is; parsing and re-serializing every event of a
   * replay was most of its cost.
   */
  async readBatch(filter: EventQuery = {}): Promise<EventBatch> {
    const rows = await this.#select(filter);
    const last = rows[rows.length - 1];
    const q = JSON.stringify;
    return {
      items: rows.map((r) => ({
        cursor: String(r.rowid),
        type: r.type,
        pluginId: r.pluginId,
        runId: r.runId,
        json: `{"id":${q(r.id)},"schemaVersion":${EVENT_SCHEMA_VERSION},"ts":${
          q(new Date(r.ts).toISOString())
        },"type":${q(r.type)},"level":${q(r.level)},"source":${q(r.source)},"pluginId":${
          q(r.pluginId)
        },"runId":${q(r.runId)},"correlationId":${q(r.correlationId)},"payload":${r.payload}}`,
      })),
      cursor: last === undefined ? filter.after ?? null : String(last.rowid),
    };
  }

  async #select(filter: EventQuery) {
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
    const where: SQL[] = [];
    if (filter.type !== undefined) {
      const prefix = filter.type.endsWith(".*") ? filter.type.slice(0, -1) : undefined;
      where.push(
        prefix === undefined
          ? eq(events.type, filter.type)
          : sql`substr(${events.type}, 1, ${prefix.length}) = ${prefix}`,
      );
    }
    if (filter.pluginId !== undefined) where.push(eq(events.pluginId, filter.pluginId));
    if (filter.runId !== undefined) where.push(eq(events.runId, filter.runId));
    if (filter.since !== undefined) {
      // ULIDs start with their time, so the primary key index finds the range.
      where.push(gte(events.id, ulidFloor(filter.since)), gte(events.ts, filter.since));
    }
    if (filter.after !== undefined) where.push(sql`${events}.rowid > ${parseCursor(filter.after)}`);
    await this.#writer.flush();
    try {
      // rowid grows in commit order (rows are never deleted), so a cursor on it never
      // skips an event that another process committed late with an older ULID.
      const rows = await this.#db.select({
        rowid: sql<number>`${events}.rowid`,
        ...getTableColumns(events),
      })
        .from(events).where(and(...where))
        .orderBy(filter.tail ? sql`${events}.rowid DESC` : sql`${events}.rowid`).limit(limit);
      if (filter.tail) rows.reverse();
      return rows;
    } catch (error) {
      throw storageError("Cannot read events", error);
    }
  }
}

type CheckedEvent = z.output<typeof EventInput>;

const TYPE_PATTERN = /^[A-Za-z0-9_.:-]+$/;
const LEVELS: ReadonlySet<unknown> = new Set(EventLevel.options);
/** The last type that passed TYPE_PATTERN: events come in runs of one type. */
let lastGoodType = "";

/**
 * The common case checked by hand, at a fraction of zod's cost per event, and
 * made into the row at once: an object whose fields all plainly pass
 * `EventInput`. Returns undefined for anything else, which then goes through
 * zod (same result, zod's messages), so this accepts only what zod accepts and
 * yields the row zod's output would give.
 */
function fastRow(input: unknown): EventRow | undefined {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined;
  const i = input as Record<string, unknown>;
  const { type, level = "info", source = "host", pluginId, runId, correlationId, ts } = i;
  if (!shortText(type)) return undefined;
  if (type !== lastGoodType) {
    if (!TYPE_PATTERN.test(type)) return undefined;
    lastGoodType = type;
  }
  if (!LEVELS.has(level) || !shortText(source)) return undefined;
  if (!optionalId(pluginId) || !optionalId(runId) || !optionalId(correlationId)) return undefined;
  if (ts !== undefined && !(Number.isSafeInteger(ts) && (ts as number) >= 0)) return undefined;
  const payload = payloadText(i.payload === undefined ? {} : i.payload);
  return {
    id: ulid(),
    schemaVersion: EVENT_SCHEMA_VERSION,
    ts: (ts as number | undefined) ?? Date.now(),
    type,
    level: level as CheckedEvent["level"],
    source,
    pluginId: (pluginId as string | null | undefined) ?? null,
    runId: (runId as string | null | undefined) ?? null,
    correlationId: (correlationId as string | null | undefined) ?? null,
    payload,
  };
}

/** The row for an event zod checked. */
function toRow(e: CheckedEvent): EventRow {
  const payload = payloadText(e.payload);
  return {
    id: ulid(),
    schemaVersion: EVENT_SCHEMA_VERSION,
    ts: e.ts ?? Date.now(),
    type: e.type,
    level: e.level,
    source: e.source,
    pluginId: e.pluginId ?? null,
    runId: e.runId ?? null,
    correlationId: e.correlationId ?? null,
    payload,
  };
}

/** What `append` resolves with: the event as `query` would return it, from its queued row. */
function writtenEvent(op: WriteOp): Event {
  const row = (op as Extract<WriteOp, { kind: "event" }>).row;
  return {
    id: row.id,
    schemaVersion: EVENT_SCHEMA_VERSION,
    ts: isoTime(row.ts),
    type: row.type,
    level: row.level,
    source: row.source,
    pluginId: row.pluginId ?? null,
    runId: row.runId ?? null,
    correlationId: row.correlationId ?? null,
    // A copy the caller owns, from the text that was stored.
    payload: JSON.parse(row.payload) as unknown,
  };
}

let lastMs = Number.NaN;
let lastIso = "";

/** `new Date(ms).toISOString()`, remembered for the last millisecond (events come in bursts). */
function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

function shortText(value: unknown): value is string {
  return typeof value === "string" && value.length >= 1 && value.length <= 200;
}

function optionalId(value: unknown): boolean {
  return value === undefined || value === null || shortText(value);
}

function checked(input: unknown): CheckedEvent {
  const parsed = EventInput.safeParse(input);
  if (!parsed.success) {
    throw new HostError("invalid_input", `Invalid event: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

function parseCursor(cursor: string): number {
  if (!/^\d{1,15}$/.test(cursor)) {
    throw new HostError(
      "invalid_input",
      `Invalid event cursor '${cursor}': pass a cursor a previous page returned`,
    );
  }
  return Number(cursor);
}

/** The payload as stored: JSON text within the size limit. */
function payloadText(payload: unknown): string {
  const text = serialize(payload);
  if (text.length > MAX_EVENT_PAYLOAD_BYTES) {
    throw new HostError(
      "invalid_input",
      `Event payload is ${text.length} bytes; the limit is ${MAX_EVENT_PAYLOAD_BYTES}: store large data elsewhere and reference it`,
    );
  }
  return text;
}

function serialize(payload: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (error) {
    throw new HostError(
      "invalid_input",
      `Event payload is not JSON: ${error instanceof Error ? error.message : error}`,
    );
  }
  if (text === undefined) {
    throw new HostError("invalid_input", `Event payload is not JSON: got ${typeof payload}`);
  }
  return text;
}
