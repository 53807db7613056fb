/**
 * The leases repository: one row per schedule occurrence some host handled.
 * Claims run inside one write transaction, so when several hosts share the
 * database exactly one of them gets each occurrence; a claim held past its
 * expiry (the holder died) can be taken over. Construct it over an open
 * store's client; callers get it as `store.leases`.
 * @module
 */
import type { Client, InValue, ResultSet } from "@libsql/client";
import { storageError } from "./client.ts";
import { type LeaseBatch, leaseBatch, type LeaseBatchResult } from "./lease-batch.ts";
import type { ClaimResult, Lease, OccurrenceKey } from "./lease-types.ts";

export type { ClaimResult, Lease, OccurrenceKey };

/** Leases per schedule occurrence. */
export class LeasesRepository {
  readonly #client: Client;

  /** Over an open store's client; callers get it as `store.leases`. */
  constructor(client: Client) {
    this.#client = client;
  }

  /**
   * Claims occurrences for `holder` until `now + ttlMs`, all in one write
   * transaction (one result per key, in order). A fresh occurrence is claimed
   * unless another occurrence of the schedule is held and unexpired (then it
   * is recorded `skipped`); an existing one is claimed only when it is held
   * and expired (a takeover). A key's `runId` is the run the claimer will
   * make, kept on the lease so a skip can name the run in its way.
   */
  async claim(
    keys: readonly (OccurrenceKey & { runId?: string | undefined })[],
    holder: string,
    now: number,
    ttlMs: number,
  ): Promise<ClaimResult[]> {
    if (keys.length === 0) return [];
    // One batch is one synchronous write transaction in libsql: no other statement of this
    // process can run inside it, so it never waits on a lock this process holds.
    const results = await this.#batch(
      "claim schedule leases",
      keys.flatMap((key) => claimStatements(key, holder, now, ttlMs)),
    );
    return keys.map((_, i) => claimResult(results.slice(i * 4, i * 4 + 4)));
  }

  /**
   * Applies many finishes, skips and fresh claims in one write transaction
   * (see lease-batch.ts); what `claim` and `record` do, for a whole burst.
   */
  async apply(
    batch: LeaseBatch,
    holder: string,
    now: number,
    ttlMs: number,
  ): Promise<LeaseBatchResult> {
    const { statements, read } = leaseBatch(batch, holder, now, ttlMs);
    if (statements.length === 0) return { claims: [], skips: [] };
    return read(await this.#batch("write schedule leases", statements));
  }

  /**
   * Records an occurrence that does not run (`skipped` or `missed`) unless
   * the occurrence has a row already; true when this call wrote it.
   */
  async record(
    key: OccurrenceKey,
    holder: string,
    state: "skipped" | "missed",
    now: number,
  ): Promise<boolean> {
    const result = await this.#exec("write schedule leases", {
      sql: `INSERT OR IGNORE INTO leases
        (schedule_id, occurrence, holder, state, expires_at, attempts, run_id, updated_at)
        VALUES (?, ?, ?, ?, ?, 0, NULL, ?)`,
      args: [key.scheduleId, key.occurrence, holder, state, now, now],
    });
    return result.rowsAffected > 0;
  }

  /**
   * Records the missed occurrences `(after, key.occurrence]` of a schedule as
   * one row at the last of them: `missed` (skip policy) or `held` by
   * `holder` (catch-up-once: the holder runs it). Written only if no row
   * exists in that range yet, so of several hosts starting together one
   * records it; true when this call did.
   */
  async recordMissed(
    key: OccurrenceKey,
    after: number,
    holder: string,
    state: "missed" | "held",
    runId: string | null,
    now: number,
    ttlMs: number,
  ): Promise<boolean> {
    const held = state === "held";
    const result = await this.#exec("write schedule leases", {
      sql: `INSERT INTO leases
        (schedule_id, occurrence, holder, state, expires_at, attempts, run_id, updated_at)
        SELECT ?, ?, ?, ?, ?, ?, ?, ?
        WHERE NOT EXISTS (SELECT 1 FROM leases
          WHERE schedule_id = ? AND occurrence > ? AND occurrence <= ?)
        ON CONFLICT DO NOTHING`,
      args: [
        key.scheduleId,
        key.occurrence,
        holder,
        state,
        held ? now + ttlMs : now,
        held ? 1 : 0,
        runId,
        now,
        key.scheduleId,
        after,
        key.occurrence,
      ],
    });
    return result.rowsAffected > 0;
  }

  /** Extends the holder's held leases to `now + ttlMs`; how many were extended. */
  async renew(
    keys: readonly OccurrenceKey[],
    holder: string,
    now: number,
    ttlMs: number,
  ): Promise<number> {
    if (keys.length === 0) return 0;
    const results = await this.#batch(
      "renew schedule leases",
      keys.map((key) => ({
        sql: `UPDATE leases SET expires_at = ?, updated_at = ?
          WHERE schedule_id = ? AND occurrence = ? AND holder = ? AND state = 'held'`,
        args: [now + ttlMs, now, key.scheduleId, key.occurrence, holder],
      })),
    );
    return results.reduce((n, r) => n + r.rowsAffected, 0);
  }

  /** Marks a held lease done with the run it made; false if the holder lost it meanwhile. */
  async finish(
    key: OccurrenceKey,
    holder: string,
    runId: string | null,
    now: number,
  ): Promise<boolean> {
    const result = await this.#exec("write schedule leases", {
      sql: `UPDATE leases SET state = 'done', run_id = ?, expires_at = ?, updated_at = ?
        WHERE schedule_id = ? AND occurrence = ? AND holder = ?`,
      args: [runId, now, now, key.scheduleId, key.occurrence, holder],
    });
    return result.rowsAffected > 0;
  }

  /** Held leases whose expiry passed before `now` (their holder stopped renewing them). */
  async expired(now: number, limit = 100): Promise<Lease[]> {
    const result = await this.#exec("read schedule leases", {
      sql: `SELECT * FROM leases WHERE state = 'held' AND expires_at < ?
        ORDER BY expires_at LIMIT ?`,
      args: [now, limit],
    });
    return result.rows.map(toLease);
  }

  /** The latest occurrence with a row, per schedule id. */
  async latest(): Promise<Map<string, number>> {
    const result = await this.#exec("read schedule leases", {
      sql: "SELECT schedule_id, max(occurrence) FROM leases GROUP BY schedule_id",
      args: [],
    });
    return new Map(result.rows.map((r) => [String(r[0]), Number(r[1])]));
  }

  /** A schedule's leases, newest occurrence first. */
  async list(scheduleId: string, limit = 100): Promise<Lease[]> {
    const result = await this.#exec("read schedule leases", {
      sql: "SELECT * FROM leases WHERE schedule_id = ? ORDER BY occurrence DESC LIMIT ?",
      args: [scheduleId, limit],
    });
    return result.rows.map(toLease);
  }

  /**
   * Deletes finished rows of occurrences before `before`, keeping each
   * schedule's latest row (missed-occurrence counting starts from it).
   */
  async prune(before: number): Promise<number> {
    const result = await this.#exec("prune schedule leases", {
      sql: `DELETE FROM leases WHERE state <> 'held' AND occurrence < ?
        AND occurrence < (SELECT max(l.occurrence) FROM leases l WHERE l.schedule_id = leases.schedule_id)`,
      args: [before],
    });
    return result.rowsAffected;
  }

  async #exec(what: string, statement: { sql: string; args: InValue[] }) {
    try {
      return await this.#client.execute(statement);
    } catch (error) {
      throw storageError(`Cannot ${what}`, error);
    }
  }

  async #batch(what: string, statements: { sql: string; args: InValue[] }[]) {
    try {
      return await this.#client.batch(statements, "write");
    } catch (error) {
      throw storageError(`Cannot ${what}`, error);
    }
  }
}

/** The four statements of one claim; `claimResult` reads their results. */
function claimStatements(
  key: OccurrenceKey & { runId?: string | undefined },
  holder: string,
  now: number,
  ttlMs: number,
): { sql: string; args: InValue[] }[] {
  const runId = key.runId ?? null;
  const at = [key.scheduleId, key.occurrence];
  return [
    // The holder before this claim (named on a takeover).
    { sql: "SELECT holder FROM leases WHERE schedule_id = ? AND occurrence = ?", args: at },
    // Takeover: held, expired, by someone else.
    {
      sql: `UPDATE leases SET holder = ?, expires_at = ?, attempts = attempts + 1, run_id = ?,
        updated_at = ? WHERE schedule_id = ? AND occurrence = ? AND state = 'held'
        AND expires_at < ? AND holder <> ? RETURNING attempts`,
      args: [holder, now + ttlMs, runId, now, ...at, now, holder],
    },
    // Fresh occurrence: held by this holder, or skipped while another occurrence is held.
    {
      sql: `INSERT INTO leases
        (schedule_id, occurrence, holder, state, expires_at, attempts, run_id, updated_at)
        SELECT ?, ?, ?, CASE WHEN b.o IS NULL THEN 'held' ELSE 'skipped' END,
          CASE WHEN b.o IS NULL THEN ? ELSE ? END, CASE WHEN b.o IS NULL THEN 1 ELSE 0 END,
          CASE WHEN b.o IS NULL THEN ? ELSE NULL END, ?
        FROM (SELECT (SELECT occurrence FROM leases WHERE schedule_id = ? AND state = 'held'
          AND expires_at >= ? LIMIT 1) AS o) b
        WHERE true ON CONFLICT DO NOTHING RETURNING state`,
      args: [...at, holder, now + ttlMs, now, runId, now, key.scheduleId, now],
    },
    // What a skip waits on.
    {
      sql: `SELECT occurrence, run_id FROM leases WHERE schedule_id = ? AND state = 'held'
        AND expires_at >= ? AND occurrence <> ? LIMIT 1`,
      args: [key.scheduleId, now, key.occurrence],
    },
  ];
}

function claimResult([before, takeover, fresh, running]: ResultSet[]): ClaimResult {
  const taken = takeover?.rows[0];
  if (taken !== undefined) {
    const previous = before?.rows[0]?.[0];
    return {
      kind: "claimed",
      attempts: Number(taken[0]),
      previousHolder: previous === undefined || previous === null ? null : String(previous),
    };
  }
  const inserted = fresh?.rows[0];
  if (inserted === undefined) return { kind: "taken" };
  if (inserted[0] === "held") return { kind: "claimed", attempts: 1, previousHolder: null };
  const busy = running?.rows[0];
  return {
    kind: "skipped",
    runningOccurrence: busy === undefined ? 0 : Number(busy[0]),
    runId: busy === undefined || busy[1] === null ? null : String(busy[1]),
  };
}

function toLease(row: Record<string, unknown>): Lease {
  const state = String(row["state"]);
  return {
    scheduleId: String(row["schedule_id"]),
    occurrence: Number(row["occurrence"]),
    holder: String(row["holder"]),
    state: state === "held" || state === "skipped" || state === "missed" ? state : "done",
    expiresAt: Number(row["expires_at"]),
    attempts: Number(row["attempts"]),
    runId: row["run_id"] === null ? null : String(row["run_id"]),
  };
}
