/**
 * The one read every run makes when something was committed since the last
 * (config.ts, `latestSeq`: the newest config change of a plugin), on a
 * connection of its own to the local database file, prepared once. Through
 * drizzle and @libsql/client the same indexed read prepared its SQL anew
 * every time and built result objects: ~40 us of the event loop per run with
 * 32 HTTP calls in flight, where commits land between most runs (11% of the
 * loop's samples); here it is a bound `get`. The connection never waits for
 * a lock (busy timeout 0: a WAL reader rarely meets one, during recovery):
 * when it cannot answer, the caller reads the usual way.
 * @module
 */
import Database from "libsql";

/** The part of libsql's synchronous API used here (its own typings are `any`). */
interface SyncStatement {
  raw(on: boolean): SyncStatement;
  get(args: unknown[]): unknown[] | undefined;
}
interface SyncConnection {
  prepare(sql: string): SyncStatement;
  close(): void;
}

const LATEST_SEQ_SQL = "SELECT max(seq) FROM plugin_config WHERE plugin_id = ?";

/** Reads a plugin's newest config change on a connection of its own. */
export class SeqReader {
  readonly #path: string;
  #db: SyncConnection | undefined;
  #statement: SyncStatement | undefined;
  #closed = false;

  /** Opens nothing yet: the first read does. */
  constructor(path: string) {
    this.#path = path;
  }

  /** The newest change's sequence number (0: never configured), or undefined when it cannot read. */
  latestSeq(pluginId: string): number | undefined {
    if (this.#closed) return undefined;
    try {
      this.#statement ??= this.#open().prepare(LATEST_SEQ_SQL).raw(true);
      const value = this.#statement.get([pluginId])?.[0];
      return value === null || value === undefined ? 0 : Number(value);
    } catch {
      // Busy, or the file went away: drop the connection; the next read opens a new one.
      this.#release();
      return undefined;
    }
  }

  /** Closes the connection; later reads answer undefined. */
  close(): void {
    this.#closed = true;
    this.#release();
  }

  #open(): SyncConnection {
    return this.#db ??= new Database(this.#path, { timeout: 0 }) as unknown as SyncConnection;
  }

  #release(): void {
    const db = this.#db;
    this.#db = undefined;
    this.#statement = undefined;
    try {
      db?.close();
    } catch {
      // Nothing to do about a connection that cannot even close.
    }
  }
}
