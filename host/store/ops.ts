/**
 * What the batching writer carries, and how one batch becomes one write
 * transaction: consecutive inserts into a table become multi-row INSERTs.
 * @module
 */
import type { Client, InStatement, InValue } from "@libsql/client";
import { getTableColumns, getTableName, type Table } from "drizzle-orm";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { EVENT_SCHEMA_VERSION } from "./event-schema.ts";
import * as schema from "./schema/index.ts";

/** A row of `events` as inserted. */
export type EventRow = typeof schema.events.$inferInsert;
/** A row of `run_records` as inserted. */
export type RunRow = typeof schema.runRecords.$inferInsert;
/** A row of `run_replay` as inserted. */
export type ReplayRow = typeof schema.runReplay.$inferInsert;
/** The columns a finished run sets. */
export type RunEnd = Pick<
  RunRow,
  | "status"
  | "endedAt"
  | "outputDigest"
  | "outputSize"
  | "errorClass"
  | "errorMessage"
  | "fuel"
  | "memoryPages"
  | "durationMs"
>;

/** One queued write. */
export type WriteOp =
  | { kind: "event"; row: EventRow }
  | { kind: "runStart"; row: RunRow }
  | { kind: "runFinish"; id: string; end: RunEnd }
  | { kind: "replay"; row: ReplayRow };

/** The drizzle database over the store's schema. */
export type StoreDb = LibSQLDatabase<typeof schema>;

// Rows per INSERT statement (run rows bind parameters: well under SQLite's 32766).
const EVENT_ROWS_PER_INSERT = 1000;
const RUN_ROWS_PER_INSERT = 200;
const FINISHES_PER_UPDATE = 1000;
// Replay records carry tapes of up to 1 MiB each: few per statement.
const REPLAY_ROWS_PER_INSERT = 16;

/** Writes a batch in one write transaction (BEGIN IMMEDIATE), in order; all or nothing. */
export async function writeOps(client: Client, batch: readonly WriteOp[]): Promise<void> {
  await client.batch(opsStatements(batch), "write");
}

/** Items above which a batch is written off the event loop (write-connection.ts). */
export const LARGE_BATCH_ITEMS = 64;
/**
 * Bytes of inputs and replay tapes above which a batch is written off the
 * event loop: one 16 KiB input costs the loop ~50 us bound and inserted there
 * (a 64 KiB one 70-170 us), against a few us to hand over.
 */
export const LARGE_BATCH_BYTES = 16 * 1024;

/**
 * Whether a batch is worth writing on libSQL's thread: many items, or large
 * inputs or tapes. A small batch commits sooner on the loop thread, and its
 * callers wait for that commit.
 */
export function isLargeBatch(batch: readonly WriteOp[]): boolean {
  if (batch.length > LARGE_BATCH_ITEMS) return true;
  let bytes = 0;
  for (const op of batch) {
    if (op.kind === "runStart") bytes += op.row.input?.byteLength ?? 0;
    else if (op.kind === "replay") bytes += op.row.tape.length;
  }
  return bytes > LARGE_BATCH_BYTES;
}

/** The statements that write a batch, to run in one write transaction in this order. */
export function opsStatements(batch: readonly WriteOp[]): InStatement[] {
  const ops = byKind(batch);
  const statements: InStatement[] = [];
  let i = 0;
  while (i < ops.length) {
    const op = ops[i]!;
    if (op.kind === "runFinish") {
      // Consecutive finishes of distinct runs become one UPDATE; a second finish of the same
      // run starts the next one, so it still sees the first (and leaves the run as it is).
      const ids = new Set<string>();
      let j = i;
      while (j < ops.length && j - i < FINISHES_PER_UPDATE) {
        const next = ops[j]!;
        if (next.kind !== "runFinish" || ids.has(next.id)) break;
        ids.add(next.id);
        j++;
      }
      statements.push(finishStatement(ops.slice(i, j) as FinishOp[]));
      i = j;
      continue;
    }
    const limit = op.kind === "event"
      ? EVENT_ROWS_PER_INSERT
      : op.kind === "replay"
      ? REPLAY_ROWS_PER_INSERT
      : RUN_ROWS_PER_INSERT;
    let j = i;
    while (j < ops.length && j - i < limit && ops[j]!.kind === op.kind) j++;
    const rows = ops.slice(i, j).map((o) => (o as { row: Record<string, unknown> }).row);
    statements.push(
      op.kind === "event"
        ? eventsStatement(rows as EventRow[])
        : op.kind === "replay"
        ? replayInsert.statement(rows)
        : runInsert.statement(rows),
    );
    i = j;
  }
  return statements;
}

/**
 * A multi-row INSERT built by hand from the drizzle table's columns: drizzle's
 * own builder takes ~1 ms per row here, 100 times the cost of the write itself.
 */
class MultiInsert {
  readonly #keys: string[];
  readonly #head: string;
  readonly #tuple: string;
  readonly #sql = new Map<number, string>();

  constructor(table: Table) {
    const columns = Object.entries(getTableColumns(table));
    this.#keys = columns.map(([key]) => key);
    const names = columns.map(([, column]) => `"${column.name}"`).join(", ");
    this.#head = `INSERT INTO "${getTableName(table)}" (${names}) VALUES `;
    this.#tuple = "(" + columns.map(() => "?").join(", ") + ")";
  }

  statement(rows: readonly Record<string, unknown>[]): InStatement {
    let sql = this.#sql.get(rows.length);
    if (sql === undefined) {
      sql = this.#head + Array(rows.length).fill(this.#tuple).join(", ");
      this.#sql.set(rows.length, sql);
    }
    const args: InValue[] = [];
    for (const row of rows) {
      for (const key of this.#keys) args.push((row[key] ?? null) as InValue);
    }
    return { sql, args };
  }
}

const eventInsert = new MultiInsert(schema.events);

/**
 * Events as one JSON array of rows bound to one parameter: binding thousands
 * of parameters through the driver costs more than SQLite parsing the JSON.
 * MATERIALIZED has SQLite render each row's text once (json_each makes it anew
 * for every reference to `value`, and each `->>` parses it), a quarter less
 * SQLite time per event; the schema version is a constant, one column fewer to
 * extract. WHERE true: SQLite needs it to parse an INSERT ... SELECT safely.
 * Exported for tests.
 */
export const EVENTS_SQL = `WITH r(v) AS MATERIALIZED (SELECT value FROM json_each(?)) ` +
  `INSERT INTO "events" ("id", "schema_version", "ts", "type", "level", "source", "plugin_id", ` +
  `"run_id", "correlation_id", "payload") SELECT v ->> 0, ${EVENT_SCHEMA_VERSION}, v ->> 1, ` +
  `v ->> 2, v ->> 3, v ->> 4, v ->> 5, v ->> 6, v ->> 7, v ->> 8 FROM r WHERE true`;

function eventsStatement(rows: readonly EventRow[]): InStatement {
  // Rows of another schema version (none are made today) keep every column.
  if (rows.some((row) => row.schemaVersion !== EVENT_SCHEMA_VERSION)) {
    return eventInsert.statement(rows);
  }
  const values = rows.map((row) => [
    row.id,
    row.ts,
    row.type,
    row.level,
    row.source,
    row.pluginId ?? null,
    row.runId ?? null,
    row.correlationId ?? null,
    row.payload,
  ]);
  return { sql: EVENTS_SQL, args: [JSON.stringify(values)] };
}
const runInsert = new MultiInsert(schema.runRecords);
const replayInsert = new MultiInsert(schema.runReplay);

type FinishOp = Extract<WriteOp, { kind: "runFinish" }>;

/**
 * The batch with run starts first, then finishes, replay records, events,
 * each kind in queue order: a few multi-row statements per transaction
 * instead of two per run (each run queues a replay record and an event; mixed
 * in queue order they made one statement each). Nobody sees the order inside one
 * transaction, and a finish still follows its start. The one case where the
 * order would change an outcome, a finish queued before its run's start (it
 * finds no row and does nothing), keeps the queue order.
 *
 * A run started and finished in the same batch is inserted finished: no
 * transaction ever showed it `running`, and its UPDATE (index changes
 * included) was a quarter of the SQLite work of a short call's records.
 */
function byKind(ops: readonly WriteOp[]): readonly WriteOp[] {
  const starts: WriteOp[] = [];
  const startAt = new Map<string, number>();
  const finishes: WriteOp[] = [];
  const replays: WriteOp[] = [];
  const events: WriteOp[] = [];
  let finished: Set<string> | undefined;
  for (const op of ops) {
    if (op.kind === "runStart") {
      if (finished?.has(op.row.id)) return ops;
      startAt.set(op.row.id, starts.length);
      starts.push(op);
    } else if (op.kind === "runFinish") {
      const at = startAt.get(op.id);
      // Only the first finish applies (the UPDATE changes `running` rows only); later ones stay.
      if (at !== undefined && !finished?.has(op.id)) {
        const row = (starts[at] as Extract<WriteOp, { kind: "runStart" }>).row;
        starts[at] = { kind: "runStart", row: finishedRow(row, op.end) };
      } else finishes.push(op);
      (finished ??= new Set()).add(op.id);
    } else if (op.kind === "replay") replays.push(op);
    else events.push(op);
  }
  return starts.concat(finishes, replays, events);
}

/** A started run's row with its end applied as FINISH_SQL applies it to a `running` row. */
function finishedRow(row: RunRow, end: RunEnd): RunRow {
  if (row.status !== undefined && row.status !== "running") return row;
  return {
    ...row,
    status: end.status,
    endedAt: end.endedAt,
    outputDigest: end.outputDigest ?? null,
    outputSize: end.outputSize ?? null,
    errorClass: end.errorClass ?? null,
    errorMessage: end.errorMessage ?? null,
    fuel: end.fuel ?? null,
    memoryPages: end.memoryPages ?? null,
    durationMs: end.durationMs ?? (end.endedAt == null ? null : end.endedAt - row.startedAt),
  };
}

/**
 * Finished runs as one UPDATE ... FROM json_each over one JSON parameter, by
 * hand: drizzle's builder took ~0.2 ms per finish, more than the write. Only
 * runs still `running` change. The sandbox's duration wins; otherwise wall time
 * from the recorded start. The unary `+` keeps SQLite off the status index:
 * with it, SQLite walked every running run once per finish (O(running x
 * batch), 167 ms for a batch of 200), instead of one primary-key lookup each.
 * Exported for the query-plan test.
 */
export const FINISH_SQL =
  `UPDATE "run_records" SET "status" = f.value ->> 1, "ended_at" = f.value ->> 2,
 "output_digest" = f.value ->> 3, "output_size" = f.value ->> 4, "error_class" = f.value ->> 5,
 "error_message" = f.value ->> 6, "fuel" = f.value ->> 7, "memory_pages" = f.value ->> 8,
 "duration_ms" = coalesce(f.value ->> 9, (f.value ->> 2) - "run_records"."started_at")
 FROM json_each(?) AS f WHERE "run_records"."id" = f.value ->> 0 AND +"run_records"."status" = 'running'`;

function finishStatement(ops: readonly FinishOp[]): InStatement {
  const values = ops.map(({ id, end }) => [
    id,
    end.status,
    end.endedAt,
    end.outputDigest ?? null,
    end.outputSize ?? null,
    end.errorClass ?? null,
    end.errorMessage ?? null,
    end.fuel ?? null,
    end.memoryPages ?? null,
    end.durationMs ?? null,
  ]);
  return { sql: FINISH_SQL, args: [JSON.stringify(values)] };
}
