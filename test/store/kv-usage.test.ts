// KV usage accounting (the kv_usage row), the key limit, and commits: small ones in one batch,
// large ones staged in chunks that yield; across two stores on one database file.
import { createClient } from "@libsql/client";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../host/store/mod.ts";
import { KV_COMMIT_CHUNK } from "../../host/store/kv.ts";
import { applyMigrations } from "../../host/store/migrate.ts";
import { migrations } from "../../host/store/migrations.ts";
import { tempDb } from "./helpers.ts";

let db: ReturnType<typeof tempDb>;
let store: Store;
const others: Store[] = [];
beforeEach(async () => {
  db = tempDb();
  store = await openStore({ url: db.url });
});
afterEach(async () => {
  for (const s of others.splice(0)) await s.close();
  await store.close();
  db.cleanup();
});

const big = { quotaBytes: 1 << 30, maxKeys: 1_000_000 };
const writes = (entries: [string, string | null][]) => new Map(entries);

/** Usage by a full scan of the plugin's rows, to hold the usage row against. */
async function scanned(s: Store, pluginId: string): Promise<{ keys: number; bytes: number }> {
  let keys = 0;
  let bytes = 0;
  let cursor: string | undefined;
  for (;;) {
    const page = await s.kv.list(pluginId, { limit: 1000, ...(cursor ? { cursor } : {}) });
    keys += page.entries.length;
    for (const e of page.entries) bytes += e.size;
    if (page.cursor === null) return { keys, bytes };
    cursor = page.cursor;
  }
}

async function commit(s: Store, pluginId: string, w: Map<string, string | null>, limits = big) {
  const snapshot = await s.kv.snapshot(pluginId);
  await s.kv.commit(pluginId, snapshot, w, limits);
}

describe("kv usage row", () => {
  it("matches a full scan after sets, overwrites and deletes, through both write paths", async () => {
    await commit(store, "p", writes([["a", "1"], ["bb", "22"], ["ccc", "333"]]));
    expect(await store.kv.usage("p")).toEqual({ keys: 3, bytes: 2 + 4 + 6 });
    await commit(store, "p", writes([["a", "longer"], ["bb", null], ["d", "4"]]));
    expect(await store.kv.usage("p")).toEqual({ keys: 3, bytes: 7 + 6 + 2 });
    await store.kv.set("p", "ccc", new TextEncoder().encode("x"));
    expect(await store.kv.delete("p", "d")).toBe(true);
    expect(await store.kv.delete("p", "d")).toBe(false);
    expect(await store.kv.usage("p")).toEqual({ keys: 2, bytes: 7 + 4 });
    expect(await store.kv.usage("p")).toEqual(await scanned(store, "p"));
    expect(await store.kv.usage("other")).toEqual({ keys: 0, bytes: 0 });
  });

  it("raises the version on every write, so a snapshot is reloaded only after a change", async () => {
    const first = await store.kv.snapshot("p");
    const v1 = first.version;
    store.kv.release(first);
    expect(await store.kv.snapshot("p")).toBe(first); // nothing changed: the cached one
    await store.kv.commit("p", first, writes([["k", "v"]]), big);
    const second = await store.kv.snapshot("p");
    store.kv.release(second);
    // Moved forward in place by its own commit (no reader held it): no reload.
    expect(second).toBe(first);
    const v2 = second.version;
    expect(v2).toBeGreaterThan(v1);
    expect(second.entries.get("k")).toEqual({ value: "v", size: 2 });
    await store.kv.set("p", "k2", new Uint8Array(1));
    const third = await store.kv.snapshot("p");
    store.kv.release(third);
    expect(third.version).toBeGreaterThan(v2);
    expect([...third.entries.keys()].sort()).toEqual(["k", "k2"]);
  });

  it("leaves a snapshot that a call still reads unchanged when another call commits", async () => {
    await commit(store, "p", writes([["a", "1"]]));
    const reading = await store.kv.snapshot("p");
    const writing = await store.kv.snapshot("p");
    await store.kv.commit("p", writing, writes([["b", "2"], ["a", null]]), big);
    expect([...reading.entries.keys()]).toEqual(["a"]);
    expect(reading.bytes).toBe(2);
    store.kv.release(reading);
    const next = await store.kv.snapshot("p");
    store.kv.release(next);
    expect([...next.entries.keys()]).toEqual(["b"]);
  });

  it("is filled from existing rows by the migration that adds it", async () => {
    const old = tempDb();
    try {
      const client = createClient({ url: old.url });
      const before = migrations.findIndex((m) => m.tag.includes("kv_usage"));
      expect(before).toBeGreaterThan(0);
      await applyMigrations(client, migrations.slice(0, before));
      await client.execute({
        sql: "INSERT INTO kv (plugin_id, key, value, size, updated_at) VALUES " +
          "('x', 'a', X'0102', 3, 1), ('x', 'bc', X'01', 3, 2), ('y', 'q', X'', 1, 3)",
        args: [],
      });
      client.close();
      const upgraded = await openStore({ url: old.url });
      others.push(upgraded);
      expect(await upgraded.kv.usage("x")).toEqual({ keys: 2, bytes: 6 });
      expect(await upgraded.kv.usage("y")).toEqual({ keys: 1, bytes: 1 });
    } finally {
      old.cleanup();
    }
  });
});

describe("kv limits at commit", () => {
  it("refuses a commit past the quota or the key limit and writes none of it", async () => {
    await commit(store, "p", writes([["a", "1"], ["b", "2"]]));
    await expect(
      commit(store, "p", writes([["c", "3"], ["d", "4"]]), { quotaBytes: 100, maxKeys: 3 }),
    )
      .rejects.toMatchObject({
        code: "quota_exceeded",
        message: /key limit .* permissions\.kv\.maxKeys/,
      });
    await expect(
      commit(store, "p", writes([["c", "x".repeat(20)]]), { quotaBytes: 10, maxKeys: 10 }),
    )
      .rejects.toMatchObject({ code: "quota_exceeded", message: /10-byte quota/ });
    expect(await store.kv.usage("p")).toEqual({ keys: 2, bytes: 4 });
    // An overwrite is no new key; a delete frees one.
    await commit(store, "p", writes([["a", "9"], ["b", null], ["c", "3"]]), {
      quotaBytes: 100,
      maxKeys: 2,
    });
    expect(await scanned(store, "p")).toEqual({ keys: 2, bytes: 4 });
  });

  it("the single-key API keeps the key limit too", async () => {
    await store.kv.set("p", "a", new Uint8Array(1), { maxKeys: 1 });
    await store.kv.set("p", "a", new Uint8Array(2), { maxKeys: 1 }); // overwrite: still one key
    await expect(store.kv.set("p", "b", new Uint8Array(1), { maxKeys: 1 })).rejects.toMatchObject({
      code: "quota_exceeded",
      message: /key limit/,
    });
    expect(await store.kv.usage("p")).toEqual({ keys: 1, bytes: 3 });
  });

  it("two stores on one file cannot pass the key limit together; each sees the other's keys", async () => {
    const other = await openStore({ url: db.url });
    others.push(other);
    const limits = { quotaBytes: 1000, maxKeys: 3 };
    const a = await store.kv.snapshot("p");
    const b = await other.kv.snapshot("p");
    // Each call fits on its own snapshot; together they would hold 4 keys.
    const results = await Promise.allSettled([
      store.kv.commit("p", a, writes([["a1", "x"], ["a2", "x"]]), limits),
      other.kv.commit("p", b, writes([["b1", "x"], ["b2", "x"]]), limits),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const failed = results.find((r) => r.status === "rejected");
    expect((failed as PromiseRejectedResult).reason).toMatchObject({ code: "quota_exceeded" });
    expect(await store.kv.usage("p")).toEqual({ keys: 2, bytes: 6 });
    const seen = await other.kv.snapshot("p");
    other.kv.release(seen);
    expect(seen.entries.size).toBe(2);
    expect(await other.kv.usage("p")).toEqual(await scanned(store, "p"));
  });

  it("keeps usage exact under many concurrent single-key writers from two stores", async () => {
    const other = await openStore({ url: db.url });
    others.push(other);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const s = i % 2 ? other : store;
        const key = `k${i % 10}`; // overwrites and deletes of the same keys, racing
        return i % 3 === 0 ? s.kv.delete("p", key) : s.kv.set("p", key, new Uint8Array(i));
      }),
    );
    expect(await store.kv.usage("p")).toEqual(await scanned(store, "p"));
  });
});

describe("kv across processes", () => {
  it(
    "two processes committing to one plugin on one file keep usage exact and the key limit",
    async () => {
      const run = promisify(execFile);
      const maxKeys = 12;
      const children = ["alpha", "beta"].map((label) =>
        run("node", [
          "scripts/run-ts.mjs",
          "test/store/fixtures/kv-child.ts",
          db.url,
          label,
          "40",
          String(maxKeys),
        ])
      );
      const outputs = (await Promise.all(children)).map((o) => JSON.parse(o.stdout));
      for (const out of outputs) expect(out.ok + out.refused).toBe(40);
      expect(outputs.reduce((n, o) => n + o.ok, 0)).toBeGreaterThan(0);
      // 7 shared keys plus about 4 of each process's own would pass 12: some commits were refused.
      expect(outputs.reduce((n, o) => n + o.refused, 0)).toBeGreaterThan(0);
      const usage = await store.kv.usage("p");
      expect(usage).toEqual(await scanned(store, "p"));
      expect(usage.keys).toBeLessThanOrEqual(maxKeys);
    },
    120_000,
  );
});

describe("large kv commits", () => {
  const n = KV_COMMIT_CHUNK * 2 + 17;

  it("are staged in chunks that yield to the event loop, and land whole", async () => {
    await commit(store, "p", writes([["keep", "1"], ["gone", "2"]]));
    const w = new Map<string, string | null>();
    for (let i = 0; i < n; i++) w.set(`key${i}`, `v${i}`);
    w.set("keep", "changed");
    w.set("gone", null);
    let ticks = 0;
    let stop = false;
    const tick = () => {
      if (stop) return;
      ticks++;
      setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const snapshot = await store.kv.snapshot("p");
    const ticksBefore = ticks;
    await store.kv.commit("p", snapshot, w, big);
    stop = true;
    // Timers ran while the commit was in flight: it gave the loop back between chunks.
    expect(ticks - ticksBefore).toBeGreaterThanOrEqual(2);
    expect(await store.kv.usage("p")).toEqual(await scanned(store, "p"));
    expect((await store.kv.usage("p")).keys).toBe(n + 1);
    expect(new TextDecoder().decode(await store.kv.get("p", "keep"))).toBe("changed");
    expect(await store.kv.get("p", "gone")).toBeUndefined();
    const staged = await store.client.execute("SELECT count(*) FROM kv_staged");
    expect(Number(staged.rows[0]![0])).toBe(0);
  });

  it("past a limit: nothing written, staging emptied, usage unchanged", async () => {
    const w = new Map<string, string | null>();
    for (let i = 0; i < n; i++) w.set(`key${i}`, "v");
    await expect(commit(store, "p", w, { quotaBytes: 1 << 20, maxKeys: n - 1 })).rejects
      .toMatchObject({ code: "quota_exceeded", message: /key limit/ });
    expect(await store.kv.usage("p")).toEqual({ keys: 0, bytes: 0 });
    expect(await scanned(store, "p")).toEqual({ keys: 0, bytes: 0 });
    const staged = await store.client.execute("SELECT count(*) FROM kv_staged");
    expect(Number(staged.rows[0]![0])).toBe(0);
  });

  it("staging rows left by a process that died are removed on open", async () => {
    await store.client.execute({
      sql: "INSERT INTO kv_staged (commit_id, key, value, size, created_at) VALUES (?, ?, ?, ?, ?)",
      args: ["dead", "k", new Uint8Array(1), 2, Date.now() - 2 * 3_600_000],
    });
    const reopened = await openStore({ url: db.url });
    others.push(reopened);
    const staged = await reopened.client.execute("SELECT count(*) FROM kv_staged");
    expect(Number(staged.rows[0]![0])).toBe(0);
  });
});
