import { createClient } from "@libsql/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore } from "../../host/store/mod.ts";
import {
  isLargeBatch,
  opsStatements,
  type ReplayRow,
  type RunRow,
  type WriteOp,
} from "../../host/store/ops.ts";
import {
  bindsBetter,
  transactionPieces,
  WriteConnection,
} from "../../host/store/write-connection.ts";
import { tempDb } from "./helpers.ts";

let db: ReturnType<typeof tempDb>;
beforeEach(async () => {
  db = tempDb();
  // Creates and migrates the file.
  await (await openStore({ url: db.url })).close();
});
afterEach(() => db.cleanup());

function events(from: number, count: number, id = (i: number) => `ev-${i}`): WriteOp[] {
  return Array.from({ length: count }, (_, k) => ({
    kind: "event" as const,
    row: {
      id: id(from + k),
      schemaVersion: 1,
      ts: 1_700_000_000_000 + from + k,
      type: "test.conn",
      level: "info" as const,
      source: "test",
      pluginId: null,
      runId: null,
      correlationId: null,
      payload: JSON.stringify({ n: from + k }),
    },
  }));
}

async function stored(): Promise<string[]> {
  const client = createClient({ url: db.url });
  try {
    const result = await client.execute("SELECT id FROM events ORDER BY rowid");
    return result.rows.map((row) => String(row[0]));
  } finally {
    client.close();
  }
}

describe("writer connection", () => {
  it("keeps its prepared statements across small batches", async () => {
    const connection = new WriteConnection(db.path, 1000);
    try {
      await connection.write(opsStatements(events(0, 3)), false);
      // BEGIN IMMEDIATE and the events INSERT (COMMIT goes to libSQL's thread as text).
      expect(connection.prepares).toBe(2);
      for (let batch = 1; batch <= 5; batch++) {
        await connection.write(opsStatements(events(batch * 10, 7)), false);
      }
      expect(connection.prepares).toBe(2);
      expect(await stored()).toHaveLength(3 + 5 * 7);
    } finally {
      connection.close();
    }
  });

  it("splits a long batch into texts of whole statements, BEGIN first and COMMIT last", async () => {
    // 3,000 events make three INSERTs: one each in texts of at most 1,000 characters.
    const texts = [...transactionPieces(opsStatements(events(0, 3000)), 1000)].map((piece) =>
      "text" in piece ? piece.text : "(bound)"
    );
    expect(texts).toHaveLength(3);
    expect(texts[0]!.startsWith("BEGIN IMMEDIATE;WITH")).toBe(true);
    expect(texts.at(-1)!.endsWith(";COMMIT;")).toBe(true);
    expect([...transactionPieces(opsStatements(events(0, 3000)))]).toHaveLength(1);
    const connection = new WriteConnection(db.path, 1000);
    try {
      await connection.write(opsStatements(events(0, 30_000)), true);
      expect(await stored()).toHaveLength(30_000);
      expect(connection.prepares).toBe(0);
    } finally {
      connection.close();
    }
  });

  for (const large of [false, true]) {
    it(
      `writes a batch all or nothing, and a failure leaves no lock and a working connection (${
        large ? "large, on libSQL's thread" : "small, prepared"
      })`,
      async () => {
        const connection = new WriteConnection(db.path, 1000);
        try {
          await connection.write(opsStatements(events(0, 2)), large);
          // 1,001 events make two INSERTs (1,000 rows each at most); the second repeats a primary
          // key, and the first one's rows must not stay.
          const failing = [...events(100, 1000), ...events(0, 1)];
          await expect(connection.write(opsStatements(failing), large)).rejects.toThrow(/UNIQUE/);
          expect(await stored()).toEqual(["ev-0", "ev-1"]);
          // Another connection can take the write lock at once (no transaction left open).
          const other = createClient({ url: db.url, timeout: 1 });
          try {
            await other.batch(["SELECT 1"], "write");
          } finally {
            other.close();
          }
          await connection.write(opsStatements(events(20, 1)), large);
          expect(await stored()).toEqual(["ev-0", "ev-1", "ev-20"]);
        } finally {
          connection.close();
        }
      },
    );
  }

  it("binds the statements whose blobs outweigh their parameters, and steps them on libSQL's thread", async () => {
    const blob = (n: number, fill: number) => new Uint8Array(n).fill(fill);
    const insert = (id: number, bytes: Uint8Array | null) => ({
      sql: "INSERT INTO blobs (id, b) VALUES (?, ?)",
      args: [id, bytes],
    });
    expect(bindsBetter(insert(1, blob(64 * 1024, 1)))).toBe(true);
    expect(bindsBetter(insert(1, blob(1024, 1)))).toBe(false);
    // 200 rows of 256 bytes: 51,200 bytes for 400 parameters, cheaper written in.
    const many = {
      sql: "INSERT ...",
      args: Array.from({ length: 200 }, () => [1, blob(256, 0)]).flat(),
    };
    expect(bindsBetter(many)).toBe(false);
    const pieces = [
      ...transactionPieces([insert(1, null), insert(2, blob(65536, 2)), insert(3, null)]),
    ];
    expect(pieces.map((p) => ("text" in p ? p.text : "(bound)"))).toEqual([
      "BEGIN IMMEDIATE;INSERT INTO blobs (id, b) VALUES (1, NULL);",
      "(bound)",
      "INSERT INTO blobs (id, b) VALUES (3, NULL);COMMIT;",
    ]);

    const client = createClient({ url: db.url });
    const connection = new WriteConnection(db.path, 1000);
    try {
      await client.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB)");
      const big = blob(65536, 7);
      big[0] = 0;
      big[65535] = 0xff;
      await connection.write(
        [insert(1, big), insert(2, blob(3, 9)), insert(4, blob(8192, 4))],
        true,
      );
      const read = async () =>
        (await client.execute("SELECT id, b FROM blobs ORDER BY id")).rows.map((row) => [
          Number(row[0]),
          new Uint8Array(row[1] as ArrayBuffer),
        ]);
      expect(await read()).toEqual([[1, big], [2, blob(3, 9)], [4, blob(8192, 4)]]);
      // A bound statement that fails takes the whole transaction with it.
      await expect(
        connection.write([insert(5, null), insert(6, big), insert(1, big)], true),
      ).rejects.toThrow(/UNIQUE/);
      expect((await read()).map(([id]) => id)).toEqual([1, 2, 4]);
      await connection.write([insert(6, big)], true);
      expect((await read()).map(([id]) => id)).toEqual([1, 2, 4, 6]);
    } finally {
      connection.close();
      client.close();
    }
  });

  it("transact: a reader that failed answers the next transaction for its new arguments", async () => {
    const connection = new WriteConnection(db.path, 1000);
    try {
      const abs = (value: number | bigint) => ({ sql: "SELECT abs(?)", args: [value] });
      expect((await connection.transact([abs(-5)]))[0]!.rows).toEqual([[5]]);
      // abs() of the smallest 64-bit integer overflows: the statement fails while stepping.
      await expect(connection.transact([abs(-(2n ** 63n))])).rejects.toThrow(/overflow/);
      expect((await connection.transact([abs(-7)]))[0]!.rows).toEqual([[7]]);
    } finally {
      connection.close();
    }
  });

  it("calls a batch large past 64 items or 16 KiB of inputs and tapes", () => {
    expect(isLargeBatch(events(0, 64))).toBe(false);
    expect(isLargeBatch(events(0, 65))).toBe(true);
    const run = (bytes: number): WriteOp => ({
      kind: "runStart",
      row: { id: "r", input: new Uint8Array(bytes) } as RunRow,
    });
    expect(isLargeBatch([run(16 * 1024)])).toBe(false);
    expect(isLargeBatch([run(16 * 1024), run(1)])).toBe(true);
    const replay: WriteOp = {
      kind: "replay",
      row: { runId: "r", tape: "x".repeat(70_000) } as ReplayRow,
    };
    expect(isLargeBatch([replay])).toBe(true);
  });

  it("transact: results per statement, queued with writes, and a failed statement rolls back only its own", async () => {
    const connection = new WriteConnection(db.path, 5000);
    try {
      const insert = (id: string) => ({
        sql: "INSERT INTO events (id, schema_version, ts, type, level, source, payload) " +
          "VALUES (?, 1, 0, 'test.conn', 'info', 'test', '{}')",
        args: [id],
      });
      const [write, results] = await Promise.all([
        connection.write(opsStatements(events(0, 2)), false),
        connection.transact([insert("t-1"), "SELECT count(*), 7 FROM events", insert("t-2")]),
      ]);
      expect(write).toBeUndefined();
      // Queued after the write: it sees its two rows and its own first insert.
      expect(results.map((r) => [r.rows, r.rowsAffected])).toEqual([
        [[], 1],
        [[[3, 7]], 0],
        [[], 1],
      ]);
      // A duplicate id fails the transaction whole; the connection serves the next one.
      await expect(connection.transact([insert("t-3"), insert("t-1")])).rejects.toThrow(/UNIQUE/);
      await connection.transact([insert("t-4")]);
      expect(await stored()).toEqual(["ev-0", "ev-1", "t-1", "t-2", "t-4"]);
    } finally {
      connection.close();
    }
  });

  it("kv writes commit off the event loop: the loop turns while they land", async () => {
    const store = await openStore({ url: db.url });
    let turns = 0;
    let on = true;
    const turn = () => {
      turns++;
      if (on) setImmediate(turn);
    };
    setImmediate(turn);
    try {
      const start = turns;
      for (let i = 0; i < 20; i++) await store.kv.set("p.loop", `k${i}`, new Uint8Array(8));
      // Committed on the loop's thread (the client's own batch), the 20 writes were one chain
      // of microtasks and the loop never turned; each commit on libSQL's thread needs one.
      expect(turns - start).toBeGreaterThanOrEqual(20);
      expect(await store.kv.get("p.loop", "k19")).toEqual(new Uint8Array(8));
    } finally {
      on = false;
      await store.close();
    }
  });
});
