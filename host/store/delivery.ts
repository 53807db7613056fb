/**
 * The delivery repository (docs/delivery.md): per-subscriber cursors over the
 * append-only event log, held under a lease so hosts sharing the database
 * deliver each subscriber's events from one place; delivery rows; dead
 * letters. Every cursor move is conditional on the lease, so a host that lost
 * it cannot move a cursor another host now owns. Callers get it as
 * `store.delivery`.
 * @module
 */
import type { Client, InStatement, InValue, ResultSet, Row } from "@libsql/client";
import { HostError } from "../errors.ts";
import { storageError } from "./client.ts";
import { deadLetterStates } from "./schema/delivery.ts";
import { ulid } from "./ulid.ts";

/** A subscriber's durable state. */
export interface Subscription {
  pluginId: string;
  /** The `events` rowid of the last event handled; the next delivery is after it. */
  cursor: number;
  holder: string | null;
  leaseExpiresAt: number;
  delivered: number;
  failures: number;
  deadLettered: number;
  expired: number;
  updatedAt: number;
}

/** One event of the log as delivery reads it (the payload stays JSON text). */
export interface LogEvent {
  /** Its `events` rowid. */
  cursor: number;
  id: string;
  ts: number;
  type: string;
  source: string;
  pluginId: string | null;
  runId: string | null;
  correlationId: string | null;
  /** JSON text, as stored. */
  payload: string;
}

/** A page of the log after a cursor (see `DeliveryRepository.read`). */
export interface LogPage {
  /** Matching events, oldest first. */
  events: LogEvent[];
  /** Every event up to this rowid was looked at: a subscriber with nothing due may move here. */
  scanned: number;
}

export type DeadLetterState = (typeof deadLetterStates)[number];

/** An event a subscriber failed on every attempt. */
export interface DeadLetter {
  id: string;
  pluginId: string;
  eventId: string;
  eventCursor: number;
  topic: string;
  attempts: number;
  errorClass: string;
  errorMessage: string;
  lastRunId: string | null;
  state: DeadLetterState;
  createdAt: string;
  updatedAt: string;
}

/** How one delivery run ended, to record. */
export interface DeliveryOutcome {
  pluginId: string;
  holder: string;
  event: Pick<LogEvent, "id" | "cursor">;
  runId: string;
  attempt: number;
  ok: boolean;
  now: number;
}

/** Rows the log may be scanned ahead per read, matching or not. */
const SCAN_WINDOW = 5000;

/** Cursors, delivery rows and dead letters. */
export class DeliveryRepository {
  readonly #client: Client;

  /** Over an open store's client; callers get it as `store.delivery`. */
  constructor(client: Client) {
    this.#client = client;
  }

  /** The newest event's rowid (0 for an empty log). */
  async head(): Promise<number> {
    const rs = await this.#exec("read the event log", {
      sql: "SELECT coalesce(max(rowid), 0) FROM events",
      args: [],
    });
    return Number(rs.rows[0]?.[0] ?? 0);
  }

  /**
   * Claims the subscriptions of `pluginIds` for `holder` until `now + ttlMs`:
   * a new subscriber starts at the end of the log (it gets events published
   * from now on); an existing one is taken when free, held by `holder`, or
   * its lease expired. Returns the subscriptions now held by `holder`.
   */
  async claim(
    pluginIds: readonly string[],
    holder: string,
    now: number,
    ttlMs: number,
  ): Promise<Subscription[]> {
    if (pluginIds.length === 0) return [];
    const statements: InStatement[] = pluginIds.flatMap((id) => [
      {
        sql: `INSERT INTO event_subscriptions (plugin_id, cursor, holder, lease_expires_at,
          delivered, failures, dead_lettered, expired, created_at, updated_at)
          SELECT ?, coalesce(max(rowid), 0), NULL, 0, 0, 0, 0, 0, ?, ? FROM events
          WHERE true ON CONFLICT DO NOTHING`,
        args: [id, now, now],
      },
      {
        sql: `UPDATE event_subscriptions SET holder = ?, lease_expires_at = ?, updated_at = ?
          WHERE plugin_id = ? AND (holder IS NULL OR holder = ? OR lease_expires_at < ?)
          RETURNING *`,
        args: [holder, now + ttlMs, now, id, holder, now],
      },
    ]);
    const results = await this.#batch("claim event subscriptions", statements);
    return results.filter((_, i) => i % 2 === 1).flatMap((rs) => rs.rows.map(toSubscription));
  }

  /** Extends `holder`'s leases; returns the plugin ids it still holds. */
  async renew(
    pluginIds: readonly string[],
    holder: string,
    now: number,
    ttlMs: number,
  ): Promise<string[]> {
    if (pluginIds.length === 0) return [];
    const results = await this.#batch(
      "renew event subscriptions",
      pluginIds.map((id) => ({
        sql: `UPDATE event_subscriptions SET lease_expires_at = ?
          WHERE plugin_id = ? AND holder = ? RETURNING plugin_id`,
        args: [now + ttlMs, id, holder],
      })),
    );
    return results.flatMap((rs) => rs.rows.map((r) => String(r[0])));
  }

  /** Gives up `holder`'s leases (a stopping host), so another host may take them at once. */
  async release(pluginIds: readonly string[], holder: string): Promise<void> {
    if (pluginIds.length === 0) return;
    await this.#batch(
      "release event subscriptions",
      pluginIds.map((id) => ({
        sql: `UPDATE event_subscriptions SET holder = NULL, lease_expires_at = 0
          WHERE plugin_id = ? AND holder = ?`,
        args: [id, holder],
      })),
    );
  }

  /**
   * Events after `cursor` whose type starts with one of `prefixes` (an empty
   * prefix matches all), oldest first, at most `limit`; the caller matches
   * topic patterns exactly. Looks at most a few thousand rows ahead, so a
   * subscriber of a rare topic moves through a long log in steps.
   */
  async read(cursor: number, prefixes: readonly string[], limit: number): Promise<LogPage> {
    const head = await this.head();
    const end = Math.min(head, cursor + SCAN_WINDOW);
    if (end <= cursor) return { events: [], scanned: cursor };
    const unique = [...new Set(prefixes)];
    const any = unique.includes("");
    const filter = any || unique.length === 0
      ? ""
      : ` AND (${unique.map(() => "substr(type, 1, ?) = ?").join(" OR ")})`;
    const args: InValue[] = [cursor, end];
    if (!any) { for (const p of unique) args.push(p.length, p); }
    args.push(limit);
    const rs = await this.#exec("read the event log", {
      sql: `SELECT rowid, id, ts, type, source, plugin_id, run_id, correlation_id, payload
        FROM events WHERE rowid > ? AND rowid <= ?${filter} ORDER BY rowid LIMIT ?`,
      args,
    });
    const events = rs.rows.map(toLogEvent);
    const full = events.length >= limit;
    return { events, scanned: full ? events[events.length - 1]!.cursor : end };
  }

  /** One event by its rowid (a dead letter's), or undefined. */
  async event(cursor: number): Promise<LogEvent | undefined> {
    const rs = await this.#exec("read the event log", {
      sql: `SELECT rowid, id, ts, type, source, plugin_id, run_id, correlation_id, payload
        FROM events WHERE rowid = ?`,
      args: [cursor],
    });
    const row = rs.rows[0];
    return row === undefined ? undefined : toLogEvent(row);
  }

  /**
   * How many delivery runs (trigger `event`) lead up to run `runId`, itself
   * included: the hops of the events it wrote. Walks `parent_run_id` upwards
   * and stops once `limit` hops are counted (or after `maxSteps` runs, a guard
   * against a malformed parent chain). `root` is the correlation id of the
   * topmost delivery run found: the event that started the chain. Undefined
   * when there is no such run (yet, or pruned).
   */
  async runChain(
    runId: string,
    limit: number,
    maxSteps = 10_000,
  ): Promise<{ hops: number; root: string | null } | undefined> {
    const rs = await this.#exec("read a run's parent chain", {
      sql: `WITH RECURSIVE up(parent, hops, root, step) AS (
          SELECT parent_run_id, trigger = 'event',
            CASE WHEN trigger = 'event' THEN correlation_id END, 1
          FROM run_records WHERE id = ?
          UNION ALL
          SELECT r.parent_run_id, up.hops + (r.trigger = 'event'),
            CASE WHEN r.trigger = 'event' THEN r.correlation_id ELSE up.root END, up.step + 1
          FROM run_records r JOIN up ON r.id = up.parent
          WHERE up.hops < ? AND up.step < ?
        )
        SELECT hops, root FROM up ORDER BY step DESC LIMIT 1`,
      args: [runId, limit, maxSteps],
    });
    const row = rs.rows[0];
    if (row === undefined) return undefined;
    return { hops: Number(row[0]), root: row[1] === null ? null : String(row[1]) };
  }

  /** Delivery runs recorded for one event and subscriber (the attempts made so far). */
  async attempts(pluginId: string, eventId: string): Promise<number> {
    const rs = await this.#exec("read event deliveries", {
      sql: "SELECT count(*) FROM event_deliveries WHERE plugin_id = ? AND event_id = ?",
      args: [pluginId, eventId],
    });
    return Number(rs.rows[0]?.[0] ?? 0);
  }

  /**
   * Records a delivery run; an ok one moves the cursor past its event. False
   * when `holder` no longer holds the subscription (the row is kept, the cursor not moved).
   */
  async recordDelivery(o: DeliveryOutcome): Promise<boolean> {
    const results = await this.#batch("record an event delivery", [
      insertDelivery(o),
      o.ok
        ? {
          sql: `UPDATE event_subscriptions SET cursor = max(cursor, ?), delivered = delivered + 1,
            updated_at = ? WHERE plugin_id = ? AND holder = ? RETURNING plugin_id`,
          args: [o.event.cursor, o.now, o.pluginId, o.holder],
        }
        : {
          sql: `UPDATE event_subscriptions SET failures = failures + 1, updated_at = ?
            WHERE plugin_id = ? AND holder = ? RETURNING plugin_id`,
          args: [o.now, o.pluginId, o.holder],
        },
    ]);
    return (results[1]?.rows.length ?? 0) > 0;
  }

  /**
   * Records the last failed attempt and the dead letter, and moves the cursor
   * past the event, in one transaction. Returns the dead letter's id, or
   * undefined when the lease was lost (nothing recorded but the delivery row).
   */
  async deadLetter(
    o: DeliveryOutcome & { topic: string; error: { class: string; message: string } },
  ): Promise<string | undefined> {
    const id = ulid(o.now);
    const results = await this.#batch("record a dead letter", [
      {
        sql: `UPDATE event_subscriptions SET cursor = max(cursor, ?), failures = failures + 1,
          dead_lettered = dead_lettered + 1, updated_at = ?
          WHERE plugin_id = ? AND holder = ? RETURNING plugin_id`,
        args: [o.event.cursor, o.now, o.pluginId, o.holder],
      },
      insertDelivery(o),
      {
        sql: `INSERT INTO event_dead_letters (id, plugin_id, event_id, event_cursor, topic,
          attempts, error_class, error_message, last_run_id, state, created_at, updated_at)
          SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, 'dead', ?, ?
          WHERE EXISTS (SELECT 1 FROM event_subscriptions WHERE plugin_id = ? AND holder = ?)`,
        args: [
          id,
          o.pluginId,
          o.event.id,
          o.event.cursor,
          o.topic,
          o.attempt,
          o.error.class,
          o.error.message.slice(0, 2000),
          o.runId,
          o.now,
          o.now,
          o.pluginId,
          o.holder,
        ],
      },
    ]);
    return (results[0]?.rows.length ?? 0) > 0 ? id : undefined;
  }

  /** Moves the cursor past events not due (no match, or expired: counted in `expired`). */
  async skip(
    pluginId: string,
    holder: string,
    cursor: number,
    expired: number,
    now: number,
  ): Promise<boolean> {
    const rs = await this.#exec("move an event cursor", {
      sql: `UPDATE event_subscriptions SET cursor = max(cursor, ?), expired = expired + ?,
        updated_at = ? WHERE plugin_id = ? AND holder = ? RETURNING plugin_id`,
      args: [cursor, expired, now, pluginId, holder],
    });
    return rs.rows.length > 0;
  }

  /** Every subscription, by plugin id. */
  async subscriptions(): Promise<Subscription[]> {
    const rs = await this.#exec("read event subscriptions", {
      sql: "SELECT * FROM event_subscriptions ORDER BY plugin_id",
      args: [],
    });
    return rs.rows.map(toSubscription);
  }

  /** Dead letters, newest first, optionally of one plugin or state. */
  async deadLetters(
    filter: { pluginId?: string | undefined; state?: DeadLetterState | undefined; limit?: number } =
      {},
  ): Promise<DeadLetter[]> {
    const where: string[] = [];
    const args: InValue[] = [];
    if (filter.pluginId !== undefined) where.push("plugin_id = ?"), args.push(filter.pluginId);
    if (filter.state !== undefined) where.push("state = ?"), args.push(filter.state);
    args.push(Math.min(Math.max(filter.limit ?? 100, 1), 1000));
    const rs = await this.#exec("read dead letters", {
      sql: `SELECT * FROM event_dead_letters${
        where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""
      } ORDER BY id DESC LIMIT ?`,
      args,
    });
    return rs.rows.map(toDeadLetter);
  }

  /** One dead letter, or undefined. */
  async deadLetterById(id: string): Promise<DeadLetter | undefined> {
    const rs = await this.#exec("read dead letters", {
      sql: "SELECT * FROM event_dead_letters WHERE id = ?",
      args: [id],
    });
    const row = rs.rows[0];
    return row === undefined ? undefined : toDeadLetter(row);
  }

  /**
   * Queues a dead letter for redelivery (state `pending`): a delivering host
   * picks it up at its next poll. Throws `not_found`, or `conflict` when it
   * is already pending or was redelivered.
   */
  async requestRedelivery(id: string, now: number): Promise<DeadLetter> {
    const rs = await this.#exec("queue a redelivery", {
      sql: `UPDATE event_dead_letters SET state = 'pending', updated_at = ?
        WHERE id = ? AND state = 'dead' RETURNING *`,
      args: [now, id],
    });
    const row = rs.rows[0];
    if (row !== undefined) return toDeadLetter(row);
    const existing = await this.deadLetterById(id);
    if (existing === undefined) {
      throw new HostError(
        "not_found",
        `No dead letter '${id}': list them with 'host events dead-letters'`,
      );
    }
    throw new HostError(
      "conflict",
      `Dead letter '${id}' is ${
        existing.state === "pending" ? "already queued for redelivery" : "already redelivered"
      }`,
    );
  }

  /** Dead letters queued for redelivery to these plugins, oldest first. */
  async pendingRedeliveries(pluginIds: readonly string[], limit = 10): Promise<DeadLetter[]> {
    if (pluginIds.length === 0) return [];
    const rs = await this.#exec("read dead letters", {
      sql: `SELECT * FROM event_dead_letters WHERE state = 'pending'
        AND plugin_id IN (${pluginIds.map(() => "?").join(", ")}) ORDER BY id LIMIT ?`,
      args: [...pluginIds, limit],
    });
    return rs.rows.map(toDeadLetter);
  }

  /**
   * Records a redelivery run: ok marks the dead letter `redelivered`; a
   * failure puts it back to `dead` with the new error and one more attempt.
   */
  async finishRedelivery(
    letter: DeadLetter,
    o: DeliveryOutcome & { error?: { class: string; message: string } | undefined },
  ): Promise<void> {
    await this.#batch("record a redelivery", [
      insertDelivery(o),
      {
        sql: `UPDATE event_subscriptions SET delivered = delivered + ?, failures = failures + ?,
          updated_at = ? WHERE plugin_id = ?`,
        args: [o.ok ? 1 : 0, o.ok ? 0 : 1, o.now, o.pluginId],
      },
      o.ok
        ? {
          sql: `UPDATE event_dead_letters SET state = 'redelivered', attempts = ?, last_run_id = ?,
            updated_at = ? WHERE id = ?`,
          args: [o.attempt, o.runId, o.now, letter.id],
        }
        : {
          sql: `UPDATE event_dead_letters SET state = 'dead', attempts = ?, last_run_id = ?,
            error_class = ?, error_message = ?, updated_at = ? WHERE id = ?`,
          args: [
            o.attempt,
            o.runId,
            o.error?.class ?? "host_error",
            (o.error?.message ?? "").slice(0, 2000),
            o.now,
            letter.id,
          ],
        },
    ]);
  }

  /** Delivery runs of one subscriber, oldest first (tests and diagnosis). */
  async deliveries(
    pluginId: string,
    limit = 1000,
  ): Promise<{ runId: string; eventId: string; attempt: number; status: string }[]> {
    const rs = await this.#exec("read event deliveries", {
      sql: `SELECT run_id, event_id, attempt, status FROM event_deliveries WHERE plugin_id = ?
        ORDER BY rowid LIMIT ?`,
      args: [pluginId, Math.min(Math.max(limit, 1), 100_000)],
    });
    return rs.rows.map((r) => ({
      runId: String(r[0]),
      eventId: String(r[1]),
      attempt: Number(r[2]),
      status: String(r[3]),
    }));
  }

  async #exec(what: string, statement: { sql: string; args: InValue[] }): Promise<ResultSet> {
    try {
      return await this.#client.execute(statement);
    } catch (error) {
      throw storageError(`Cannot ${what}`, error);
    }
  }

  async #batch(what: string, statements: InStatement[]): Promise<ResultSet[]> {
    try {
      return await this.#client.batch(statements, "write");
    } catch (error) {
      throw storageError(`Cannot ${what}`, error);
    }
  }
}

function insertDelivery(o: DeliveryOutcome): InStatement {
  return {
    sql: `INSERT OR IGNORE INTO event_deliveries (run_id, plugin_id, event_id, attempt, status, at)
      VALUES (?, ?, ?, ?, ?, ?)`,
    args: [o.runId, o.pluginId, o.event.id, o.attempt, o.ok ? "ok" : "error", o.now],
  };
}

function toSubscription(row: Row): Subscription {
  return {
    pluginId: String(row["plugin_id"]),
    cursor: Number(row["cursor"]),
    holder: row["holder"] === null ? null : String(row["holder"]),
    leaseExpiresAt: Number(row["lease_expires_at"]),
    delivered: Number(row["delivered"]),
    failures: Number(row["failures"]),
    deadLettered: Number(row["dead_lettered"]),
    expired: Number(row["expired"]),
    updatedAt: Number(row["updated_at"]),
  };
}

function toLogEvent(row: Row): LogEvent {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    cursor: Number(row[0]),
    id: String(row[1]),
    ts: Number(row[2]),
    type: String(row[3]),
    source: String(row[4]),
    pluginId: text(row[5]),
    runId: text(row[6]),
    correlationId: text(row[7]),
    payload: String(row[8]),
  };
}

function toDeadLetter(row: Row): DeadLetter {
  const state = String(row["state"]);
  return {
    id: String(row["id"]),
    pluginId: String(row["plugin_id"]),
    eventId: String(row["event_id"]),
    eventCursor: Number(row["event_cursor"]),
    topic: String(row["topic"]),
    attempts: Number(row["attempts"]),
    errorClass: String(row["error_class"]),
    errorMessage: String(row["error_message"]),
    lastRunId: row["last_run_id"] === null ? null : String(row["last_run_id"]),
    state: (deadLetterStates as readonly string[]).includes(state)
      ? state as DeadLetterState
      : "dead",
    createdAt: new Date(Number(row["created_at"])).toISOString(),
    updatedAt: new Date(Number(row["updated_at"])).toISOString(),
  };
}
