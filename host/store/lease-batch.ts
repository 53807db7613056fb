/**
 * Many lease changes as one write batch: the finishes, skips and claims of
 * every occurrence that fired in the same turn, in a handful of multi-row
 * statements. Built for the scheduler, where 1,000 schedules can fire at
 * the same second; one statement per row would cost a commit (an fsync) each.
 * @module
 */
import type { InValue, ResultSet } from "@libsql/client";
import type { ClaimResult, OccurrenceKey } from "./lease-types.ts";

/** What one batch changes, all for one holder. */
export interface LeaseBatch {
  /** Fresh occurrences to claim (`held`, or `skipped` while another occurrence is held). */
  claims: (OccurrenceKey & { runId: string })[];
  /** Occurrences to record as skipped unless they have a row. */
  skips: OccurrenceKey[];
  /** Held leases to mark done, with the run they made. */
  finishes: (OccurrenceKey & { runId: string | null })[];
}

/** One result per claim and per skip (true: this batch wrote the skip), in order. */
export interface LeaseBatchResult {
  claims: ClaimResult[];
  skips: boolean[];
}

type Statement = { sql: string; args: InValue[] };

/** Rows per multi-row statement (3 or 2 variables each, far below SQLite's limit). */
const CHUNK = 400;

/** The statements of `batch`, and how to read their results. */
export function leaseBatch(
  batch: LeaseBatch,
  holder: string,
  now: number,
  ttlMs: number,
): { statements: Statement[]; read(results: ResultSet[]): LeaseBatchResult } {
  const statements: Statement[] = [];
  // Finishes first, so an occurrence claimed in the same batch does not see them still held.
  for (const part of chunks(batch.finishes)) {
    statements.push({
      sql: `UPDATE leases SET state = 'done', run_id = v.column3, expires_at = ?, updated_at = ?
        FROM (VALUES ${part.map(() => "(?, ?, ?)").join(", ")}) v
        WHERE leases.schedule_id = v.column1 AND leases.occurrence = v.column2
        AND leases.holder = ?`,
      args: [now, now, ...part.flatMap((f) => [f.scheduleId, f.occurrence, f.runId]), holder],
    });
  }
  const skipParts = chunks(batch.skips);
  for (const part of skipParts) {
    statements.push({
      sql: `INSERT INTO leases
        (schedule_id, occurrence, holder, state, expires_at, attempts, run_id, updated_at)
        VALUES ${part.map(() => "(?, ?, ?, 'skipped', ?, 0, NULL, ?)").join(", ")}
        ON CONFLICT DO NOTHING RETURNING schedule_id, occurrence`,
      args: part.flatMap((s) => [s.scheduleId, s.occurrence, holder, now, now]),
    });
  }
  const claimParts = chunks(batch.claims);
  for (const part of claimParts) {
    statements.push({
      sql: `INSERT INTO leases
        (schedule_id, occurrence, holder, state, expires_at, attempts, run_id, updated_at)
        SELECT v.column1, v.column2, ?, CASE WHEN h.o IS NULL THEN 'held' ELSE 'skipped' END,
          CASE WHEN h.o IS NULL THEN ? ELSE ? END, CASE WHEN h.o IS NULL THEN 1 ELSE 0 END,
          CASE WHEN h.o IS NULL THEN v.column3 ELSE NULL END, ?
        FROM (VALUES ${part.map(() => "(?, ?, ?)").join(", ")}) v
        LEFT JOIN (SELECT schedule_id AS s, max(occurrence) AS o FROM leases
          WHERE state = 'held' AND expires_at >= ? GROUP BY schedule_id) h ON h.s = v.column1
        WHERE true ON CONFLICT DO NOTHING RETURNING schedule_id, occurrence, state`,
      args: [
        holder,
        now + ttlMs,
        now,
        now,
        ...part.flatMap((c) => [c.scheduleId, c.occurrence, c.runId]),
        now,
      ],
    });
    // What the skipped ones wait on.
    statements.push({
      sql: `SELECT schedule_id, occurrence, run_id FROM leases WHERE state = 'held'
        AND expires_at >= ? AND schedule_id IN (${part.map(() => "?").join(", ")})`,
      args: [now, ...part.map((c) => c.scheduleId)],
    });
  }
  const finishCount = chunks(batch.finishes).length;
  return {
    statements,
    read(results) {
      const skipped = new Set<string>();
      results.slice(finishCount, finishCount + skipParts.length).forEach((r) => {
        for (const row of r.rows) skipped.add(`${row[0]}@${row[1]}`);
      });
      const inserted = new Map<string, string>();
      const running = new Map<string, { occurrence: number; runId: string | null }>();
      results.slice(finishCount + skipParts.length).forEach((r, i) => {
        for (const row of r.rows) {
          if (i % 2 === 0) inserted.set(`${row[0]}@${row[1]}`, String(row[2]));
          else {
            running.set(String(row[0]), {
              occurrence: Number(row[1]),
              runId: row[2] === null ? null : String(row[2]),
            });
          }
        }
      });
      return {
        skips: batch.skips.map((s) => skipped.has(`${s.scheduleId}@${s.occurrence}`)),
        claims: batch.claims.map((c): ClaimResult => {
          const state = inserted.get(`${c.scheduleId}@${c.occurrence}`);
          if (state === undefined) return { kind: "taken" };
          if (state === "held") return { kind: "claimed", attempts: 1, previousHolder: null };
          const busy = running.get(c.scheduleId);
          return {
            kind: "skipped",
            runningOccurrence: busy?.occurrence ?? 0,
            runId: busy?.runId ?? null,
          };
        }),
      };
    },
  };
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}
