import { createClient } from "@libsql/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore } from "../../host/store/mod.ts";
import { opsStatements, type WriteOp } from "../../host/store/ops.ts";
import { WriteConnection } from "../../host/store/write-connection.ts";
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
  it("keeps its prepared statements across batches", async () => {
    const connection = new WriteConnection(db.path, 1000);
    try {
      connection.write(opsStatements(events(0, 3)));
      // BEGIN IMMEDIATE, COMMIT and the events INSERT.
      expect(connection.prepares).toBe(3);
      for (let batch = 1; batch <= 5; batch++) {
        connection.write(opsStatements(events(batch * 10, 7)));
      }
      expect(connection.prepares).toBe(3);
      expect(await stored()).toHaveLength(3 + 5 * 7);
    } finally {
      connection.close();
    }
  });

  it("writes a batch all or nothing, and a failure leaves no lock and a working connection", async () => {
    const connection = new WriteConnection(db.path, 1000);
    try {
      connection.write(opsStatements(events(0, 2)));
      // 1,001 events make two INSERTs (1,000 rows each at most); the second repeats a primary
      // key, and the first one's rows must not stay.
      const failing = [...events(100, 1000), ...events(0, 1)];
      expect(() => connection.write(opsStatements(failing))).toThrow(/UNIQUE/);
      expect(await stored()).toEqual(["ev-0", "ev-1"]);
      // Another connection can take the write lock at once (no transaction left open).
      const other = createClient({ url: db.url, timeout: 1 });
      try {
        await other.batch(["SELECT 1"], "write");
      } finally {
        other.close();
      }
      connection.write(opsStatements(events(20, 1)));
      expect(await stored()).toEqual(["ev-0", "ev-1", "ev-20"]);
    } finally {
      connection.close();
    }
  });
});
