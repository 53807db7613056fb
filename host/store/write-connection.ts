/**
 * The batching writer's own connections to a local database file, with the
 * `libsql` driver that @libsql/client itself uses for files. A batch is
 * written one of two ways:
 * - large (many items or big values, as the store decides: `isLargeBatch`
 *   in ops.ts): as one SQL text with its arguments written in as literals
 *   (sql-literal.ts), through the driver's asynchronous `exec`, which runs it
 *   on libSQL's own thread. Parsing, inserting, index updates and COMMIT's
 *   fsync leave the event loop (~46 us of a short run's ~130 us on it, and
 *   ~1 ms per 64 KiB input); what stays is rendering the text (~1 us a KiB).
 * - small: through statements prepared once and kept, on the loop thread.
 *   The hand-over to libSQL's thread and back adds ~0.2 ms to a commit, and
 *   a caller awaiting a small batch waits mostly for that commit (64 callers
 *   each awaiting its event: ~56,000 events/s this way, ~42,000 the other).
 * @module
 */
import type { InStatement, InValue } from "@libsql/client";
import { Buffer } from "node:buffer";
import Database from "libsql";
import AsyncDatabase from "libsql/promise";
import { inlineStatement, refuseUnwritable } from "./sql-literal.ts";

type Statement = ReturnType<Database.Database["prepare"]>;

/** The part of libsql's promise API used here (its own typings are `any`). */
interface AsyncConnection {
  exec(sql: string): Promise<unknown>;
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

/** A connection that runs a list of statements as one write transaction. */
export class WriteConnection {
  readonly #path: string;
  readonly #timeoutMs: number;
  #db: Database.Database | undefined;
  #async: AsyncConnection | undefined;
  readonly #cache = new Map<string, Statement>();
  #begin: Statement | undefined;
  #commit: Statement | undefined;
  #prepares = 0;

  /** Opens nothing yet: the file is opened by the first write. */
  constructor(path: string, busyTimeoutMs: number) {
    this.#path = path;
    this.#timeoutMs = busyTimeoutMs;
  }

  /**
   * Runs the statements in one transaction (BEGIN IMMEDIATE ... COMMIT), all
   * or nothing; resolves once COMMIT returned, i.e. once the batch is durable
   * as the database's synchronous setting makes it. `large` says the batch is
   * worth moving off the loop (the caller knows its items: `isLargeBatch`).
   * Callers run one write at a time (the batching writer does). After a
   * failure the connections are closed and the next write opens fresh ones.
   */
  async write(statements: readonly InStatement[], large: boolean): Promise<void> {
    if (large) await this.#offloaded(statements);
    else this.#prepared(statements);
  }

  /** Statements prepared so far (for tests: a batch of a known shape prepares nothing). */
  get prepares(): number {
    return this.#prepares;
  }

  /** Closes the connections (a later write opens them again). */
  close(): void {
    const db = this.#db;
    const other = this.#async;
    this.#db = this.#async = undefined;
    this.#cache.clear();
    this.#begin = this.#commit = undefined;
    for (const connection of [db, other]) {
      try {
        connection?.close();
      } catch {
        // Nothing to do about a connection that cannot even close.
      }
    }
  }

  #prepared(statements: readonly InStatement[]): void {
    const db = this.#db ?? this.#openPrepared();
    try {
      this.#begin!.run([]);
      for (const statement of statements) {
        const { sql, args } = typeof statement === "string"
          ? { sql: statement, args: [] }
          : statement;
        if (!Array.isArray(args)) throw new TypeError("The writer binds positional arguments only");
        this.#statement(db, sql).run(args.map(toSql));
      }
      this.#commit!.run([]);
    } catch (error) {
      try {
        // Close alone would not end it: the driver keeps the connection open while statements
        // made on it are still referenced, and an open transaction holds the write lock.
        if (db.inTransaction) db.exec("ROLLBACK");
      } catch {
        // The connection is dropped below either way.
      }
      this.close();
      throw error;
    }
  }

  async #offloaded(statements: readonly InStatement[]): Promise<void> {
    const db = this.#async ??= new AsyncDatabase(this.#path, {
      timeout: this.#timeoutMs,
    }) as unknown as AsyncConnection;
    try {
      // Each piece is rendered just before its hand-over: the loop gets turns in between.
      for (const text of transactionTexts(statements)) await db.exec(text);
    } catch (error) {
      try {
        // A statement that failed mid-text leaves the transaction open, holding the write lock.
        // Only on a connection still open: the driver panics (aborting the process) when asked
        // about a closed one, and close() during a write is what made this one fail.
        if (this.#async === db && db.inTransaction) await db.exec("ROLLBACK");
      } catch {
        // The connection is dropped below either way.
      }
      this.close();
      throw error;
    }
  }

  #openPrepared(): Database.Database {
    const db = new Database(this.#path, { timeout: this.#timeoutMs });
    this.#db = db;
    this.#begin = db.prepare("BEGIN IMMEDIATE");
    this.#commit = db.prepare("COMMIT");
    this.#prepares += 2;
    return db;
  }

  #statement(db: Database.Database, sql: string): Statement {
    let statement = this.#cache.get(sql);
    if (statement === undefined) {
      if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
      statement = db.prepare(sql);
      this.#prepares++;
      this.#cache.set(sql, statement);
    }
    return statement;
  }
}

/**
 * The transaction's SQL in texts of about `chunkChars`, BEGIN IMMEDIATE first
 * and COMMIT last, each rendered when it is asked for.
 */
export function* transactionTexts(
  statements: readonly InStatement[],
  chunkChars = CHUNK_CHARS,
): Generator<string, void, undefined> {
  let text = "BEGIN IMMEDIATE;";
  let held = 0;
  for (const statement of statements) {
    const sql = inlineStatement(statement);
    if (held > 0 && text.length + sql.length > chunkChars) {
      yield text;
      text = "";
      held = 0;
    }
    text += sql + ";";
    held++;
  }
  yield text + "COMMIT;";
}

/** A value as the driver binds it: what @libsql/client's own conversion does for files. */
function toSql(value: InValue | undefined): unknown {
  refuseUnwritable(value);
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (value instanceof Date) return value.valueOf();
  return value;
}
