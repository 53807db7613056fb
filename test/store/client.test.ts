import { createClient } from "@libsql/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openClient } from "../../host/store/client.ts";
import { tempDb } from "./helpers.ts";

let db: ReturnType<typeof tempDb>;
beforeEach(() => {
  db = tempDb();
});
afterEach(() => db.cleanup());

/** A connection holding the write lock of a file still in rollback-journal mode. */
async function holdWriteLock() {
  const other = createClient({ url: db.url });
  await other.execute("CREATE TABLE t (x)");
  const tx = await other.transaction("write");
  await tx.execute("INSERT INTO t VALUES (1)");
  return {
    release: async () => {
      await tx.commit();
      other.close();
    },
    abandon: () => {
      tx.close();
      other.close();
    },
  };
}

// CI failed once when two hosts created one database at the same moment: the
// switch to WAL upgrades a read lock to a write lock, and SQLite returns
// SQLITE_BUSY for that at once, without its busy handler.
describe("openClient switching a new file to WAL", () => {
  it("waits for another process's write lock instead of failing at once", async () => {
    const lock = await holdWriteLock();
    const opening = openClient({ url: db.url, busyTimeoutMs: 5000 });
    setTimeout(() => void lock.release(), 50);
    const client = await opening;
    const mode = await client.execute("PRAGMA journal_mode");
    expect(mode.rows[0]?.[0]).toBe("wal");
    client.close();
  });

  it("gives up after the busy timeout with a storage error naming the database", async () => {
    const lock = await holdWriteLock();
    try {
      await expect(openClient({ url: db.url, busyTimeoutMs: 100 })).rejects.toMatchObject({
        code: "storage_error",
        message: expect.stringContaining(`Cannot open the database at ${db.url}: SQLITE_BUSY`),
      });
    } finally {
      lock.abandon();
    }
  });
});
