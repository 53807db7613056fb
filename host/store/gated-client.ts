/**
 * The libSQL client as the repositories and drizzle get it when the store has
 * its own write connection (write-connection.ts): every statement that may
 * write runs inside that connection's queue (`exclusive`), reads go straight
 * through. The client's writes are synchronous on the loop's thread; without
 * the gate one that met the write connection's lock would wait for it in
 * SQLite's busy handler, sleeping on the loop (1, 2, 5, 10 ... ms steps) while
 * a COMMIT finished on libSQL's thread, or until the busy timeout while a
 * large batch waited for the loop between its pieces. Other processes still
 * contend through the busy handler, as SQLite intends.
 * @module
 */
import type { Client, InArgs, InStatement, ResultSet, TransactionMode } from "@libsql/client";

/** Runs a task when the write connection has no transaction open, holding the next one back. */
export type Exclusive = <T>(task: () => Promise<T>) => Promise<T>;

/** Statements that only read: everything else is treated as a possible write. */
const READ_ONLY = /^\s*(SELECT|EXPLAIN)\b/i;

function sqlOf(statement: InStatement | [string, InArgs?]): string {
  if (typeof statement === "string") return statement;
  return Array.isArray(statement) ? statement[0] : statement.sql;
}

/** `client` with its writes serialized with the write connection's transactions. */
export function gateWrites(client: Client, exclusive: Exclusive): Client {
  function execute(stmt: InStatement): Promise<ResultSet>;
  function execute(sql: string, args?: InArgs): Promise<ResultSet>;
  function execute(stmt: InStatement, args?: InArgs): Promise<ResultSet> {
    const run = () => typeof stmt === "string" ? client.execute(stmt, args) : client.execute(stmt);
    return READ_ONLY.test(sqlOf(stmt)) ? run() : exclusive(run);
  }
  return {
    execute,
    batch(stmts: Array<InStatement | [string, InArgs?]>, mode?: TransactionMode) {
      const run = () => client.batch(stmts, mode);
      return mode === "read" || stmts.every((s) => READ_ONLY.test(sqlOf(s)))
        ? run()
        : exclusive(run);
    },
    migrate: (stmts: InStatement[]) => exclusive(() => client.migrate(stmts)),
    transaction(): never {
      // An interactive transaction holds the write lock across awaits: with the gate it would
      // hold every write of the host, without it it could deadlock with the write connection.
      throw new TypeError(
        "The store does not use interactive transactions: use one batch (client.batch) instead",
      );
    },
    executeMultiple: (sql: string) => exclusive(() => client.executeMultiple(sql)),
    sync: () => client.sync(),
    close: () => client.close(),
    reconnect: () => client.reconnect(),
    get closed() {
      return client.closed;
    },
    get protocol() {
      return client.protocol;
    },
  };
}
