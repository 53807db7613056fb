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
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";

const HEADER_BYTES = 48;

/**
 * The `-shm` files this process reads, by path, open for the process's life.
 * Never closed while in use, because closing any descriptor of a file drops
 * every POSIX lock this process holds on it, SQLite's included: its lock
 * that tells other processes the WAL index is in use went with it, and the
 * next process to open the database rebuilt (truncated) the index under the
 * connections still mapping it, which died of SIGBUS (CI, the multi-host
 * scheduler test) and could read a wrong index. One descriptor per database
 * file is all this keeps.
 */
const files = new Map<string, { fd: number; ino: number }>();

/**
 * The descriptor of the `-shm` file at `path`. A file SQLite deleted and made
 * anew (every connection to the database closed meanwhile) is opened again;
 * its old descriptor is closed then, as no connection of this process can
 * still map a file that was deleted.
 */
function shmFile(path: string): number {
  const ino = statSync(path).ino;
  const known = files.get(path);
  if (known?.ino === ino) return known.fd;
  if (known !== undefined) {
    files.delete(path);
    closeSync(known.fd);
  }
  const fd = openSync(path, "r");
  files.set(path, { fd, ino: fstatSync(fd).ino });
  return fd;
}

/** The WAL index of one database file. */
export class WalIndex {
  readonly #path: string;
  readonly #header = Buffer.alloc(HEADER_BYTES * 2);
  /** Resolved once per WalIndex (one per store): the file cannot change while the store maps it. */
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
      this.#fd ??= shmFile(this.#path);
      const read = readSync(this.#fd, this.#header, 0, HEADER_BYTES * 2, 0);
      if (read < HEADER_BYTES * 2) return null;
      const first = this.#header.subarray(0, HEADER_BYTES);
      if (!first.equals(this.#header.subarray(HEADER_BYTES))) return null;
      // isInit (byte 12): 0 until a connection has built the index.
      if (first[12] === 0) return null;
      return first.toString("latin1");
    } catch {
      this.#fd = undefined; // looked up again next time; never closed here (see `files`)
      return null;
    }
  }
}
