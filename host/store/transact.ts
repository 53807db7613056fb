/**
 * The shape of the write transactions KV runs (kv.ts): on the writer's
 * connection for a local file, so COMMIT and its fsync leave the event loop
 * (write-connection.ts), else the client's own batch.
 * @module
 */
import type { Client, InStatement, Row } from "@libsql/client";

/** What a statement of a write gave (a libSQL ResultSet has these too). */
export interface StatementResult {
  /** Rows, read by position; a reader may give its first row only. */
  rows: Row[];
  rowsAffected: number;
}

/** Runs statements as one write transaction and returns each one's rows and changes. */
export type Transact = (statements: readonly InStatement[]) => Promise<StatementResult[]>;

/** The client's own write batch (remote databases). */
export function clientTransact(client: Client): Transact {
  return async (statements) => await client.batch([...statements], "write");
}
