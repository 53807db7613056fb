/**
 * The batching writer's own connection to a local database file, opened with
 * the `libsql` driver that @libsql/client itself uses for files. It keeps its
 * prepared statements across batches: the client prepares BEGIN, every
 * INSERT and COMMIT anew on each batch and learns that they return no rows by
 * catching an error thrown per statement (~0.18 ms a batch here, 3 us an event
 * when 64 awaiting callers make a batch of 64).
 * @module
 */
import type { InStatement, InValue } from "@libsql/client";
import { Buffer } from "node:buffer";
import Database from "libsql";

type Statement = ReturnType<Database.Database["prepare"]>;

/** Distinct statements kept at most (multi-row INSERTs differ by row count). */
const MAX_CACHED = 64;

/** A connection that runs a list of statements as one write transaction. */
export class WriteConnection {
  readonly #path: string;
  readonly #timeoutMs: number;
  #db: Database.Database | undefined;
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
   * or nothing; returns once COMMIT returned, i.e. once the batch is durable
   * as the database's synchronous setting makes it. After a failure the
   * connection is closed (a failed BEGIN can leave a statement in progress)
   * and the next write opens a fresh one.
   */
  write(statements: readonly InStatement[]): void {
    const db = this.#db ?? this.#open();
    try {
      this.#begin!.run([]);
      for (const statement of statements) {
        const { sql, args } = typeof statement === "string"
          ? { sql: statement, args: [] }
          : statement;
        if (!Array.isArray(args)) throw new TypeError("The writer binds positional arguments only");
        this.#prepared(db, sql).run(args.map(toSql));
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

  /** Statements prepared so far (for tests: a batch of a known shape prepares nothing). */
  get prepares(): number {
    return this.#prepares;
  }

  /** Closes the connection (a later write opens it again). */
  close(): void {
    const db = this.#db;
    this.#db = undefined;
    this.#cache.clear();
    this.#begin = this.#commit = undefined;
    try {
      db?.close();
    } catch {
      // Nothing to do about a connection that cannot even close.
    }
  }

  #open(): Database.Database {
    const db = new Database(this.#path, { timeout: this.#timeoutMs });
    this.#db = db;
    this.#begin = db.prepare("BEGIN IMMEDIATE");
    this.#commit = db.prepare("COMMIT");
    this.#prepares += 2;
    return db;
  }

  #prepared(db: Database.Database, sql: string): Statement {
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

/** A value as the driver binds it: what @libsql/client's own conversion does for files. */
function toSql(value: InValue | undefined): unknown {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new RangeError("Only finite numbers (not Infinity or NaN) can be passed as arguments");
    }
    return value;
  }
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (value instanceof Date) return value.valueOf();
  if (value === undefined) {
    throw new TypeError("undefined cannot be passed as argument to the database");
  }
  return value;
}
