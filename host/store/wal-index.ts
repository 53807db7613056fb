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
import { setTimeout } from "node:timers";

const HEADER_BYTES = 48;

/**
 * How long one open of the `-shm` file serves reads. Opening it per read was
 * two of the three system calls (~20-50 us a run); closing it soon after
 * holds nothing past the store's life, and a file SQLite deleted and made
 * anew (every connection to the database closed meanwhile) is read at most
 * this much later.
 */
const KEEP_OPEN_MS = 1000;

/** The WAL index of one database file. */
export class WalIndex {
  readonly #path: string;
  readonly #header = Buffer.alloc(HEADER_BYTES * 2);
  #fd: number | undefined;

  constructor(databaseFile: string) {
    this.#path = `${databaseFile}-shm`;
  }

  /**
   * The current header as text, or null when it cannot vouch for the database
   * (no WAL index: not WAL mode or not open yet; a write under way; a read failed).
   */
  stamp(): string | null {
    try {
      const read = readSync(this.#open(), this.#header, 0, HEADER_BYTES * 2, 0);
      if (read < HEADER_BYTES * 2) return null;
      const first = this.#header.subarray(0, HEADER_BYTES);
      if (!first.equals(this.#header.subarray(HEADER_BYTES))) return null;
      // isInit (byte 12): 0 until a connection has built the index.
      if (first[12] === 0) return null;
      return first.toString("latin1");
    } catch {
      this.#release();
      return null;
    }
  }

  #open(): number {
    if (this.#fd === undefined) {
      this.#fd = openSync(this.#path, "r");
      setTimeout(() => this.#release(), KEEP_OPEN_MS).unref();
    }
    return this.#fd;
  }

  #release(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing is held.
    }
  }
}
