import { createClient } from "@libsql/client";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostError } from "../../host/errors.ts";
import { openStore, type Store } from "../../host/store/mod.ts";
import { events } from "../../host/store/schema/index.ts";
import { tempDb } from "./helpers.ts";

let db: ReturnType<typeof tempDb>;
let store: Store;
beforeEach(async () => {
  db = tempDb();
  store = await openStore({ url: db.url });
});
afterEach(async () => {
  await store.close();
  db.cleanup();
});

describe("events", () => {
  it("appends with schema_version, ULID id and defaults, and reads back in order", async () => {
    const first = await store.events.append({ type: "test.one", payload: { n: 1 } });
    const second = await store.events.append({
      type: "test.two",
      level: "warn",
      source: "plugin:example.hello",
      pluginId: "example.hello",
      runId: "run-1",
      correlationId: "corr-1",
    });
    expect(first.schemaVersion).toBe(1);
    expect(first.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(second.id > first.id).toBe(true);
    const page = await store.events.query({});
    expect(page.events).toEqual([first, second]);
    expect(page.events[1]).toMatchObject({
      level: "warn",
      pluginId: "example.hello",
      runId: "run-1",
    });
  });

  it("stores every field as given: the event append returns is the one read back", async () => {
    const payload = {
      text: 'quote " backslash \\ \u2603 \ud83d\ude00',
      list: [1, 2.5, null, true],
      nested: { a: [] },
    };
    const written = await store.events.append({
      type: "test.fields",
      level: "error",
      source: "plugin:x",
      pluginId: "x",
      runId: "run-9",
      correlationId: "corr-9",
      payload,
      ts: 1_700_000_000_123,
    });
    const bare = await store.events.append({ type: "test.bare", payload: "just text" });
    expect(written).toEqual({
      id: written.id,
      schemaVersion: 1,
      ts: "2023-11-14T22:13:20.123Z",
      type: "test.fields",
      level: "error",
      source: "plugin:x",
      pluginId: "x",
      runId: "run-9",
      correlationId: "corr-9",
      payload,
    });
    expect(bare).toMatchObject({
      level: "info",
      source: "host",
      pluginId: null,
      payload: "just text",
    });
    expect((await store.events.query({})).events).toEqual([written, bare]);
    const raw = await store.client.execute(
      "SELECT schema_version, typeof(ts), payload FROM events ORDER BY rowid",
    );
    expect(raw.rows.map((row) => [row[0], row[1], row[2]])).toEqual([
      [1, "integer", JSON.stringify(payload)],
      [1, "integer", '"just text"'],
    ]);
  });

  it("filters by type (exact and prefix), plugin, run, since, and pages with a cursor", async () => {
    for (let i = 0; i < 5; i++) {
      void store.events.append({
        type: i % 2 ? "run.started" : "run_x.other",
        pluginId: `p${i % 2}`,
        runId: `r${i}`,
      });
    }
    await store.flush();
    expect((await store.events.query({ type: "run.*" })).events).toHaveLength(2);
    expect((await store.events.query({ type: "run_x.other" })).events).toHaveLength(3);
    expect((await store.events.query({ pluginId: "p0" })).events).toHaveLength(3);
    expect((await store.events.query({ runId: "r3" })).events[0]?.runId).toBe("r3");
    expect((await store.events.query({ since: Date.now() + 60_000 })).events).toHaveLength(0);
    const page1 = await store.events.query({ limit: 2 });
    const page2 = await store.events.query({ limit: 2, after: page1.cursor! });
    const page3 = await store.events.query({ limit: 2, after: page2.cursor! });
    const ids = [...page1.events, ...page2.events, ...page3.events].map((e) => e.id);
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
    const empty = await store.events.query({ after: page3.cursor! });
    expect(empty.events).toEqual([]);
    expect(empty.cursor).toBe(page3.cursor);
  });

  it("refuses malformed events at once", () => {
    expect(() => store.events.append({ type: "" })).toThrow(HostError);
    expect(() => store.events.append({ type: "has space" })).toThrow(/event type/);
    expect(() => store.events.append({ type: "t", payload: "x".repeat(300_000) })).toThrow(/limit/);
  });

  it("is append-only through drizzle: UPDATE and DELETE are refused", async () => {
    const event = await store.events.append({ type: "test.keep", payload: { v: 1 } });
    // drizzle wraps the driver's error as "Failed query: ..." with the trigger's message as cause.
    const update = await store.db.update(events).set({ type: "test.changed" })
      .where(eq(events.id, event.id)).then(() => undefined, (e: unknown) => e);
    expect(causeMessage(update)).toMatch(/append-only: UPDATE is not allowed/);
    const remove = await store.db.delete(events).where(eq(events.id, event.id))
      .then(() => undefined, (e: unknown) => e);
    expect(causeMessage(remove)).toMatch(/append-only: DELETE is not allowed/);
    expect((await store.events.query({})).events).toEqual([event]);
  });

  it("is append-only through raw SQL from another connection", async () => {
    const event = await store.events.append({ type: "test.keep" });
    const raw = createClient({ url: db.url });
    try {
      await expect(raw.execute("UPDATE events SET payload = '{}'")).rejects.toThrow(
        /UPDATE is not allowed/,
      );
      await expect(raw.execute("DELETE FROM events")).rejects.toThrow(/DELETE is not allowed/);
      const count = await raw.execute("SELECT count(*) AS n FROM events");
      expect(count.rows[0]?.n).toBe(1);
    } finally {
      raw.close();
    }
    expect((await store.events.query({})).events[0]).toEqual(event);
  });

  it("gives the events API no way to change or remove an event", () => {
    const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(store.events));
    expect(methods.sort()).toEqual(["append", "appendWithId", "constructor", "query", "readBatch"]);
  });
});

function causeMessage(error: unknown): string {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return cause instanceof Error ? cause.message : String(error);
}
