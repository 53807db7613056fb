import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openClient } from "../../host/store/client.ts";
import { gateWrites } from "../../host/store/gated-client.ts";
import { openStore } from "../../host/store/mod.ts";
import { opsStatements, type WriteOp } from "../../host/store/ops.ts";
import { WriteConnection } from "../../host/store/write-connection.ts";
import { tempDb } from "./helpers.ts";

let db: ReturnType<typeof tempDb>;
beforeEach(async () => {
  db = tempDb();
  await (await openStore({ url: db.url })).close();
});
afterEach(() => db.cleanup());

/** Events of `bytes` payload each: a few of 2 MiB make a batch of several 4 MiB pieces. */
function events(prefix: string, count: number, bytes: number): WriteOp[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: "event" as const,
    row: {
      id: `${prefix}-${i}`,
      schemaVersion: 1,
      ts: 1_700_000_000_000 + i,
      type: "test.gate",
      level: "info" as const,
      source: "test",
      pluginId: null,
      runId: null,
      correlationId: null,
      payload: JSON.stringify({ pad: "x".repeat(bytes) }),
    },
  }));
}

const insert = (id: string, pad = "") => ({
  sql: "INSERT INTO events (id, schema_version, ts, type, level, source, payload) " +
    "VALUES (?, 1, 0, 'test.gate', 'info', 'test', json_object('pad', ?))",
  args: [id, pad],
});

describe("writes of the client, gated by the write connection", () => {
  it("wait for the connection's transactions; reads do not", async () => {
    const connection = new WriteConnection(db.path, 1000);
    const raw = await openClient({ url: db.url, busyTimeoutMs: 1000 });
    const order: string[] = [];
    const client = gateWrites(raw, (task) => connection.exclusive(task));
    try {
      const write = connection.write(opsStatements(events("big", 2, 1 << 20)), true)
        .then(() => order.push("batch"));
      const read = client.execute("SELECT count(*) FROM events").then(() => order.push("read"));
      const written = client.execute(insert("after")).then(() => order.push("write"));
      await Promise.all([write, read, written]);
      expect(order).toEqual(["read", "batch", "write"]);
    } finally {
      raw.close();
      connection.close();
    }
  });

  it("never meet a large batch's lock while it waits for the loop between its pieces", async () => {
    // Ungated, a client write that starts while the batch holds the lock between two pieces
    // sleeps in SQLite's busy handler on the loop's thread, so the batch cannot send its next
    // piece: both wait out the busy timeout, and the client's write fails SQLITE_BUSY.
    const connection = new WriteConnection(db.path, 1000);
    const raw = await openClient({ url: db.url, busyTimeoutMs: 1000 });
    const client = gateWrites(raw, (task) => connection.exclusive(task));
    try {
      // Six statements of 2 MiB: six pieces, the loop free between them while the lock is held.
      const batch = connection.write(
        Array.from({ length: 6 }, (_, i) => insert(`big-${i}`, "x".repeat(2 << 20))),
        true,
      );
      let done = false;
      void batch.finally(() => (done = true));
      const writes: Promise<unknown>[] = [];
      // One client write per turn of the loop for as long as the batch runs.
      for (let i = 0; !done && i < 2000; i++) {
        writes.push(client.batch([insert(`w-${i}`)], "write"));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await batch;
      const results = await Promise.allSettled(writes);
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      expect(writes.length).toBeGreaterThan(1);
      const count = await raw.execute("SELECT count(*) FROM events WHERE type = 'test.gate'");
      expect(Number(count.rows[0]![0])).toBe(6 + writes.length);
    } finally {
      raw.close();
      connection.close();
    }
  });

  it("refuses interactive transactions, which would hold the lock across awaits", async () => {
    const connection = new WriteConnection(db.path, 1000);
    const raw = await openClient({ url: db.url });
    try {
      const client = gateWrites(raw, (task) => connection.exclusive(task));
      expect(() => client.transaction("write")).toThrow(/one batch/);
    } finally {
      raw.close();
      connection.close();
    }
  });
});
