/**
 * Whether a SQLite database in WAL mode changed since a moment, without a
 * query: the way SQLite's own readers tell (wal.c, walIndexTryHdr), by the
 * header of the WAL index in the `-shm` file. Every commit of any connection,
 * in any process, rewrites that header (the WAL's last frame, or its salts
 * after a restart, and their checksum), so two equal headers mean no commit
 * between them. The header is kept twice (bytes 0-47 and 48-95) and a writer
 * updates the second copy first: unequal copies are a write under way, which
 * vouches for nothing. The `-shm` file is shared memory all connections map,
 * so a read of it sees their writes at once.
 * @module
 */
import { Buffer } from "node:buffer";
import { closeSync, openSync, readSync } from "node:fs";

const HEADER_BYTES = 48;

/** The WAL index of one database file. */
export class WalIndex {
  readonly #path: string;
  readonly #header = Buffer.alloc(HEADER_BYTES * 2);

  constructor(databaseFile: string) {
    this.#path = `${databaseFile}-shm`;
  }

  /**
   * The current header as text, or null when it cannot vouch for the database
   * (no WAL index: not WAL mode or not open yet; a write under way; a read failed).
   */
  stamp(): string | null {
    let fd: number;
    try {
      // Opened per read: nothing is held past the store's life, and a file that SQLite
      // deleted and made anew (the last connection closed meanwhile) is the one read.
      fd = openSync(this.#path, "r");
    } catch {
      return null;
    }
    try {
      const read = readSync(fd, this.#header, 0, HEADER_BYTES * 2, 0);
      if (read < HEADER_BYTES * 2) return null;
      const first = this.#header.subarray(0, HEADER_BYTES);
      if (!first.equals(this.#header.subarray(HEADER_BYTES))) return null;
      // isInit (byte 12): 0 until a connection has built the index.
      if (first[12] === 0) return null;
      return first.toString("latin1");
    } catch {
      return null;
    } finally {
      closeSync(fd);
    }
  }
}
