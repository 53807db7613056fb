import { createClient } from "@libsql/client";
import { execFile } from "node:child_process";
import process from "node:process";
import { setImmediate } from "node:timers";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../host/store/mod.ts";
import { migrations as embedded } from "../../host/store/migrations.ts";
import { BatchWriter } from "../../host/store/writer.ts";
import { tempDb } from "./helpers.ts";

const run = promisify(execFile);

let db: ReturnType<typeof tempDb>;
beforeEach(() => {
  db = tempDb();
});
afterEach(() => db.cleanup());

async function count(store: Store, table: string, where = "1"): Promise<number> {
  const result = await store.client.execute(`SELECT count(*) FROM ${table} WHERE ${where}`);
  return Number(result.rows[0]?.[0]);
}

describe("batching writer", () => {
  it("loses nothing under concurrent load: N enqueued = N stored, in batches", async () => {
    const store = await openStore({ url: db.url, writer: { maxBatch: 250, maxQueue: 1000 } });
    const producers = 8;
    const perProducer = 2500;
    await Promise.all(Array.from({ length: producers }, async (_, p) => {
      for (let i = 0; i < perProducer; i++) {
        const appended = store.events.append({
          type: "load.test",
          source: `p${p}`,
          payload: { i },
        });
        // Every 100th caller waits for durability; the rest fire and forget.
        if (i % 100 === 0) await appended;
      }
    }));
    await store.close();
    const check = await openStore({ url: db.url });
    expect(await count(check, "events", "type = 'load.test'")).toBe(producers * perProducer);
    const perSource = await check.client.execute(
      "SELECT source, count(*), count(DISTINCT json_extract(payload, '$.i')) FROM events GROUP BY source",
    );
    for (const row of perSource.rows) {
      expect([Number(row[1]), Number(row[2])]).toEqual([perProducer, perProducer]);
    }
    expect(store.writerStats.written).toBe(producers * perProducer);
    expect(store.writerStats.batches).toBeLessThan(producers * perProducer / 10);
    await check.close();
  });

  it("commits what one event-loop turn queued at the end of that turn, and gathers the rest meanwhile", async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const writer = new BatchWriter<number>(async (items) => {
      batches.push([...items]);
      if (batches.length === 1) await held;
    });
    const first = [1, 2, 3].map((n) => writer.enqueue(n));
    // An immediate queued after the items runs after the writer's: the batch has started.
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1, 2, 3]]);
    // While it commits, later items wait together for the next one.
    const later = [4, 5].map((n) => writer.enqueue(n));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1, 2, 3]]);
    release();
    await Promise.all([...first, ...later]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
    await writer.close();
  });

  it("waits flushIntervalMs for company when it is set", async () => {
    const batches: number[][] = [];
    const writer = new BatchWriter<number>((items) => {
      batches.push([...items]);
      return Promise.resolve();
    }, { flushIntervalMs: 60_000 });
    void writer.enqueue(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([]);
    await writer.close(); // a flush does not wait for the interval
    expect(batches).toEqual([[1]]);
  });

  it("applies back-pressure: at most maxQueue wait while one batch is written", async () => {
    const written: number[] = [];
    let maxSeen = 0;
    const writer: BatchWriter<number> = new BatchWriter(async (items) => {
      maxSeen = Math.max(maxSeen, writer.stats.queued);
      await new Promise((resolve) => setTimeout(resolve, 1));
      written.push(...items);
    }, { maxBatch: 10, maxQueue: 20 });
    const all = Array.from({ length: 500 }, (_, i) => writer.enqueue(i));
    await Promise.all(all);
    await writer.close();
    expect(written).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(maxSeen).toBe(20);
  });

  it("rejects a finally failed item only to its awaiter: a caller that did not await sees no unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const written: string[] = [];
      const writer = new BatchWriter<string>(async (items) => {
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (items.some((item) => item.startsWith("bad"))) throw new Error("refused");
        written.push(...items);
      }, { retryDelayMs: 1, maxAttempts: 2 });
      const first = writer.enqueueAs("good-1", (item) => item.toUpperCase());
      void writer.enqueue("bad-ignored");
      const awaited = writer.enqueueWith("bad-awaited", 1);
      const last = writer.enqueueAs("good-2", (item) => item.length);
      await expect(awaited).rejects.toMatchObject({ code: "storage_error" });
      expect(await first).toBe("GOOD-1");
      expect(await last).toBe(6);
      await writer.close();
      // Node reports an unhandled rejection after the microtasks of the turn it happened in.
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(written).toEqual(["good-1", "good-2"]);
      expect(writer.stats.failed).toBe(2);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("retries a flush that fails because another connection holds the write lock, and reports it", async () => {
    const store = await openStore({
      url: db.url,
      busyTimeoutMs: 1,
      writer: { retryDelayMs: 20, maxAttempts: 50 },
    });
    const blocker = createClient({ url: db.url });
    const lock = await blocker.transaction("write"); // BEGIN IMMEDIATE, held until rollback
    const durable = Promise.all(
      Array.from(
        { length: 10 },
        (_, i) => store.events.append({ type: "blocked.write", payload: { i } }),
      ),
    );
    // Wait until at least one real flush attempt failed on the lock, then let go.
    for (let i = 0; i < 1000 && store.writerStats.retries === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(store.writerStats.retries).toBeGreaterThan(0);
    await lock.rollback();
    blocker.close();
    await durable;
    expect(await count(store, "events", "type = 'blocked.write'")).toBe(10);
    await store.flush();
    const retried = await store.events.query({ type: "store.write_retried" });
    expect(retried.events.length).toBeGreaterThan(0);
    expect(retried.events[0]).toMatchObject({ level: "warn", source: "host" });
    expect(JSON.stringify(retried.events[0]!.payload)).toMatch(/locked|busy/i);
    await store.close();
  });

  it("after the last attempt rejects only the items that cannot be written, and reports them", async () => {
    const store = await openStore({ url: db.url, writer: { retryDelayMs: 1, maxAttempts: 2 } });
    await store.runs.start({
      id: "dup",
      pluginId: "p",
      moduleDigest: "d",
      export: "e",
      trigger: "cli",
      input: new Uint8Array(),
    });
    const good = store.events.append({ type: "before.dup" });
    const bad = store.runs.start({
      id: "dup",
      pluginId: "p",
      moduleDigest: "d",
      export: "e",
      trigger: "cli",
      input: new Uint8Array(),
    });
    const after = store.events.append({ type: "after.dup" });
    await expect(bad).rejects.toMatchObject({ code: "storage_error" });
    await good;
    await after;
    await store.flush();
    expect(await count(store, "events", "type IN ('before.dup', 'after.dup')")).toBe(2);
    const failed = await store.events.query({ type: "store.write_failed" });
    expect(failed.events).toHaveLength(1);
    expect(failed.events[0]!.payload).toMatchObject({ items: 1 });
    await store.close();
  });

  it("drains the queue on close and refuses writes after it", async () => {
    const store = await openStore({ url: db.url, writer: { flushIntervalMs: 10_000 } });
    for (let i = 0; i < 100; i++) void store.events.append({ type: "drain.me" });
    await store.close();
    await expect(store.events.append({ type: "too.late" })).rejects.toMatchObject({
      code: "storage_error",
    });
    const check = await openStore({ url: db.url });
    expect(await count(check, "events", "type = 'drain.me'")).toBe(100);
    await check.close();
  });

  it("two processes write one database file at once and lose nothing", async () => {
    const n = 1500;
    const children = ["alpha", "beta"].map((label) =>
      run("node", [
        "scripts/run-ts.mjs",
        "test/store/fixtures/child.ts",
        "write",
        db.url,
        label,
        String(n),
      ])
    );
    const outputs = await Promise.all(children);
    for (const { stdout } of outputs) {
      expect(JSON.parse(stdout)).toMatchObject({ written: 3 * n, failed: 0 });
    }
    const store = await openStore({ url: db.url });
    expect(await count(store, "events", "type = 'test.multi'")).toBe(2 * n);
    expect(await count(store, "run_records", "status = 'ok'")).toBe(2 * n);
    expect(await count(store, "run_records")).toBe(2 * n);
    const migrations = await store.client.execute("SELECT count(*) FROM __drizzle_migrations");
    expect(Number(migrations.rows[0]?.[0])).toBe(embedded.length);
    await store.close();
  });
});
