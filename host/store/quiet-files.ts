/**
 * Whether a SQLite database may have changed since a moment, without asking
 * it: every commit, by any connection of any process on this machine, writes
 * the database file or its WAL, which moves their size or modification time.
 * Linux stamps files from a coarse clock (a few ms), so a stamp only vouches
 * for files that were already quiet (untouched for {@link QUIET_MS}) when it
 * was taken: a later write then lands a visibly later time. SQLite's WAL needs
 * shared memory, so every writer of the file is on this machine and its writes
 * are visible to `stat` at once.
 * @module
 */
import { statSync } from "node:fs";

/** How long the files must have been untouched for a stamp to vouch for them. */
export const QUIET_MS = 100;

/** The database file and its WAL, as `stat` sees them. */
export class QuietFiles {
  readonly #paths: string[];

  constructor(databaseFile: string) {
    this.#paths = [databaseFile, `${databaseFile}-wal`];
  }

  /**
   * A stamp of both files when neither was touched in the last QUIET_MS, else
   * null: two equal stamps mean no commit happened between them.
   */
  stamp(now = Date.now()): string | null {
    let stamp = "";
    for (const path of this.#paths) {
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat === undefined) {
        stamp += "-;";
        continue;
      }
      if (now - stat.mtimeMs < QUIET_MS || now - stat.ctimeMs < QUIET_MS) return null;
      stamp += `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs};`;
    }
    return stamp;
  }
}
