/**
 * The batching writer's own connection to a local database file, with the
 * `libsql` driver that @libsql/client itself uses for files. COMMIT, and the
 * fsync it waits for (1-3 ms here, tens of ms when the disk is busy), always
 * runs on libSQL's own thread through the driver's asynchronous `exec`: a
 * durable commit never holds the event loop. The statements before it run
 * one of two ways:
 * - large (many items or big values, as the store decides: `isLargeBatch`
 *   in ops.ts): as SQL text with its arguments written in as literals
 *   (sql-literal.ts), also through `exec`, except statements that carry more
 *   blob bytes than their parameters are worth (`bindsBetter`): those are
 *   bound and stepped on libSQL's thread too (the driver's `iterate`).
 *   Parsing, inserting and index updates leave the loop; what stays is
 *   rendering the text and the driver's copy of it, or binding.
 * - small: through statements prepared once and kept, run on the loop
 *   thread (tens of microseconds: pages change in memory only), then the
 *   asynchronous COMMIT.
 * @module
 */
import type { InStatement, InValue } from "@libsql/client";
import { Buffer } from "node:buffer";
import AsyncDatabase from "libsql/promise";
import { inlineStatement, refuseUnwritable } from "./sql-literal.ts";
import type { StatementResult } from "./transact.ts";

/** A prepared statement of the driver's promise API: preparing is asynchronous, running is not. */
interface Statement {
  run(args: unknown[]): { changes?: number };
  get(args: unknown[]): unknown;
  raw(on: boolean): Statement;
  /** Binds on the calling thread, steps on libSQL's: for a write, the write runs there. */
  iterate(args: unknown[]): Promise<Iterable<unknown>>;
  readonly reader: boolean;
}

/** A row, read by position. */
type Row = StatementResult["rows"][number];

/** The part of libsql's promise API used here (its own typings are `any`). */
interface AsyncConnection {
  exec(sql: string): Promise<unknown>;
  prepare(sql: string): Promise<Statement>;
  close(): void;
  readonly inTransaction: boolean;
}

/** Distinct statements kept at most (multi-row INSERTs differ by row count). */
const MAX_CACHED = 64;

/**
 * SQL text handed over in one `exec` at most (whole statements; one longer
 * statement goes alone): bounds the strings built on the loop thread.
 */
const CHUNK_CHARS = 4 * 1024 * 1024;

/**
 * Written in as a literal, a blob costs the loop thread ~7 ns a byte (its hex,
 * ~4, then the driver's copy of the SQL text, ~3: 0.45 ms for 64 KiB, measured
 * with libsql 0.5 on Node 20); bound, it costs ~0.6 us a parameter of its
 * statement and a copy. A statement with more blob bytes than this per
 * parameter is bound.
 */
const BIND_BYTES_PER_ARG = 128;
/** ...and with at least this many: below it the hand-over costs more than it saves. */
const BIND_MIN_BYTES = 4096;

/** A piece of a large transaction: SQL text for `exec`, or a statement to bind and step. */
export type Piece = { text: string } | { bound: InStatement };

/** A connection that runs a list of statements as one write transaction. */
export class WriteConnection {
  readonly #path: string;
  readonly #timeoutMs: number;
  #db: AsyncConnection | undefined;
  readonly #cache = new Map<string, Statement>();
  #begin: Statement | undefined;
  #prepares = 0;
  /** The last queued transaction: each waits for the one before (one connection, one at a time). */
  #tail: Promise<unknown> = Promise.resolve();

  /** Opens nothing yet: the file is opened by the first write. */
  constructor(path: string, busyTimeoutMs: number) {
    this.#path = path;
    this.#timeoutMs = busyTimeoutMs;
  }

  /**
   * Runs the statements in one transaction (BEGIN IMMEDIATE ... COMMIT), all
   * or nothing; resolves once COMMIT returned, i.e. once the batch is durable
   * as the database's synchronous setting makes it. `large` says the batch is
   * worth moving off the loop whole (the caller knows its items:
   * `isLargeBatch`). Callers run one write at a time (the batching writer
   * does). After a failure the connection is closed and the next write opens
   * a fresh one.
   */
  write(statements: readonly InStatement[], large: boolean): Promise<void> {
    return this.#queued(() => this.#write(statements, large));
  }

  /**
   * Runs the statements in one transaction like `write`, queued with it, and
   * returns each statement's result: for the KV writes (kv.ts), which must not
   * fsync on the event loop and need what their usage and limit checks read.
   * A reader gives its first row only. Nothing between BEGIN and COMMIT waits
   * for the event loop: a connection of this process that waits for the lock
   * in SQLite's busy handler sleeps on the loop's thread, so a transaction that
   * needed the loop to go on would deadlock with it until the busy timeout.
   * A statement that fails rolls the whole transaction back and rejects with
   * its error; the connection stays open.
   */
  transact(statements: readonly InStatement[]): Promise<StatementResult[]> {
    return this.#queued(async () => {
      const db = this.#open();
      const prepared = await this.#prepared(db, statements);
      const results: StatementResult[] = [];
      this.#begin!.run([]);
      try {
        statements.forEach((statement, i) => {
          const args = argsOf(statement);
          const stmt = prepared[i]!;
          if (stmt.reader) {
            const row = stmt.raw(true).get(args) as Row | undefined;
            results.push({ rows: row === undefined ? [] : [row], rowsAffected: 0 });
          } else {
            results.push({ rows: [], rowsAffected: stmt.run(args).changes ?? 0 });
          }
        });
      } catch (error) {
        // The driver (libsql 0.5) resets a statement before `run` but not before `get`, nor after
        // a `get` that failed: kept, that reader would fail again, or answer for its old
        // arguments, in every later transaction. Prepared anew instead.
        this.#cache.clear();
        await this.#rollBack(db);
        throw error;
      }
      try {
        await db.exec("COMMIT");
      } catch (error) {
        await this.#rollBack(db, true);
        throw error;
      }
      return results;
    });
  }

  /**
   * Runs `task` (writes of another connection of this process: gated-client.ts)
   * in this connection's queue, when none of its own transactions is open, and
   * starts the next one only after it: so the other connection never meets
   * this one's write lock, and never waits for it in SQLite's busy handler,
   * which sleeps on the loop's thread (and, while a large batch here awaits
   * the loop between its pieces, would deadlock with it until the busy timeout).
   */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.#queued(task);
  }

  #queued<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(() => {});
    return run;
  }

  #open(): AsyncConnection {
    return this.#db ??= new AsyncDatabase(this.#path, {
      timeout: this.#timeoutMs,
    }) as unknown as AsyncConnection;
  }

  /** Ends a failed transaction; closes the connection when that fails too, or when `close`. */
  async #rollBack(db: AsyncConnection, close = false): Promise<void> {
    try {
      if (this.#db === db && db.inTransaction) await db.exec("ROLLBACK");
    } catch {
      close = true;
    }
    if (close) this.close();
  }

  async #write(statements: readonly InStatement[], large: boolean): Promise<void> {
    const db = this.#open();
    try {
      if (large) {
        // Each piece is rendered just before its hand-over: the loop gets turns in between.
        for (const piece of transactionPieces(statements)) {
          if ("text" in piece) await db.exec(piece.text);
          else await this.#step(db, piece.bound);
        }
      } else {
        // Prepared before BEGIN: inside the transaction nothing waits but COMMIT.
        const prepared = await this.#prepared(db, statements);
        this.#begin!.run([]);
        statements.forEach((statement, i) => prepared[i]!.run(argsOf(statement)));
        await db.exec("COMMIT");
      }
    } catch (error) {
      try {
        // A statement that failed mid-transaction leaves it open, holding the write lock. Only on
        // a connection still open: the driver panics (aborting the process) when asked about a
        // closed one, and close() during a write is what made this one fail.
        if (this.#db === db && db.inTransaction) await db.exec("ROLLBACK");
      } catch {
        // The connection is dropped below either way.
      }
      this.close();
      throw error;
    }
  }

  /** Binds a statement and runs it on libSQL's thread; rejects with its error. */
  async #step(db: AsyncConnection, statement: InStatement): Promise<void> {
    const [prepared] = await this.#prepared(db, [statement]);
    for (const _row of await prepared!.iterate(argsOf(statement))) {
      // A write yields no rows; a reader's are not wanted here.
    }
  }

  /** Statements prepared so far (for tests: a batch of a known shape prepares nothing). */
  get prepares(): number {
    return this.#prepares;
  }

  /** Closes the connection (a later write opens it again). */
  close(): void {
    const db = this.#db;
    this.#db = undefined;
    this.#cache.clear();
    this.#begin = undefined;
    try {
      db?.close();
    } catch {
      // Nothing to do about a connection that cannot even close.
    }
  }

  /** The batch's statements, prepared on first use and kept. */
  async #prepared(db: AsyncConnection, statements: readonly InStatement[]): Promise<Statement[]> {
    this.#begin ??= await this.#prepare(db, "BEGIN IMMEDIATE");
    const prepared: Statement[] = [];
    for (const statement of statements) {
      const sql = typeof statement === "string" ? statement : statement.sql;
      let cached = this.#cache.get(sql);
      if (cached === undefined) {
        if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
        cached = await this.#prepare(db, sql);
        this.#cache.set(sql, cached);
      }
      prepared.push(cached);
    }
    return prepared;
  }

  async #prepare(db: AsyncConnection, sql: string): Promise<Statement> {
    const statement = await db.prepare(sql);
    this.#prepares++;
    return statement;
  }
}

/**
 * The transaction in pieces: SQL texts of about `chunkChars` (whole
 * statements, BEGIN IMMEDIATE first and COMMIT last), each rendered when it
 * is asked for, and between them, alone, the statements that bind better
 * than they render (`bindsBetter`).
 */
export function* transactionPieces(
  statements: readonly InStatement[],
  chunkChars = CHUNK_CHARS,
): Generator<Piece, void, undefined> {
  let text = "BEGIN IMMEDIATE;";
  let held = 0;
  for (const statement of statements) {
    if (bindsBetter(statement)) {
      if (text !== "") yield { text };
      text = "";
      held = 0;
      yield { bound: statement };
      continue;
    }
    const sql = inlineStatement(statement);
    if (held > 0 && text.length + sql.length > chunkChars) {
      yield { text };
      text = "";
      held = 0;
    }
    text += sql + ";";
    held++;
  }
  yield { text: text + "COMMIT;" };
}

/** Whether binding a statement costs the loop less than writing its arguments in (see BIND_BYTES_PER_ARG). */
export function bindsBetter(statement: InStatement): boolean {
  if (typeof statement === "string" || !Array.isArray(statement.args)) return false;
  let bytes = 0;
  for (const arg of statement.args) {
    if (arg instanceof Uint8Array || arg instanceof ArrayBuffer) bytes += arg.byteLength;
  }
  return bytes >= BIND_MIN_BYTES && bytes > BIND_BYTES_PER_ARG * statement.args.length;
}

/** A statement's positional arguments as the driver binds them. */
function argsOf(statement: InStatement): unknown[] {
  const args = typeof statement === "string" ? [] : statement.args ?? [];
  if (!Array.isArray(args)) throw new TypeError("The writer binds positional arguments only");
  return args.map(toSql);
}

/** A value as the driver binds it: what @libsql/client's own conversion does for files. */
function toSql(value: InValue | undefined): unknown {
  refuseUnwritable(value);
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (value instanceof Date) return value.valueOf();
  return value;
}
