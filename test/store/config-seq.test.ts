/**
 * The config version every run reads (store.config.latestSeq) is answered
 * without a query while the WAL index shows no commit since the last read
 * (host/store/wal-index.ts): a change by another connection, as a second host
 * over the same database makes, must still show at the next read.
 * @module
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../host/store/mod.ts";
import { SeqReader } from "../../host/store/seq-reader.ts";
import { WalIndex } from "../../host/store/wal-index.ts";
import { tempStore } from "../helpers/store.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two stores over one database file, as two hosts sharing it. */
async function twoHosts(): Promise<{ a: Store; b: Store; file: string }> {
  const temp = await tempStore();
  cleanups.push(temp.cleanup);
  const b = await openStore({ url: temp.url });
  cleanups.push(() => b.close());
  return { a: temp.store, b, file: join(temp.dir, "host.db") };
}

function change(store: Store, after: number) {
  return store.config.append({
    pluginId: "acme.p",
    env: "",
    values: { n: after + 1 },
    changedBy: "cli",
    after,
  });
}

describe("the config version without a query per run", () => {
  it("every commit by another connection changes the WAL index header; nothing else does", async () => {
    const { a, b, file } = await twoHosts();
    await change(b, 0);
    const wal = new WalIndex(file);
    let before = wal.stamp();
    expect(before).not.toBeNull();
    // Reads change nothing.
    await a.config.history("acme.p");
    expect(wal.stamp()).toBe(before);
    for (let i = 1; i < 4; i++) {
      await change(b, i);
      const after = wal.stamp();
      expect(after).not.toBeNull();
      expect(after).not.toBe(before);
      before = after;
    }
  });

  // CI: a host process died of SIGBUS when another opened the database. Closing any descriptor
  // of the -shm file drops every POSIX lock this process holds on it, SQLite's lock that says
  // the index is in use included, so the next process to open the database rebuilt the index
  // under the mapped connections. Linux shows a process's locks in /proc/locks.
  it.skipIf(!existsSync("/proc/locks"))(
    "reading the WAL index never drops SQLite's locks on the -shm file (Linux: /proc/locks)",
    async () => {
      const { a, b, file } = await twoHosts();
      await change(b, 0);
      await a.config.history("acme.p");
      const ino = statSync(`${file}-shm`).ino;
      const held = () =>
        readFileSync("/proc/locks", "utf8").split("\n")
          .filter((line) => line.includes(` ${process.pid} `) && line.includes(`:${ino} `)).length;
      const before = held();
      expect(before).toBeGreaterThan(0);
      for (const wal of [new WalIndex(file), new WalIndex(file)]) {
        expect(wal.stamp()).not.toBeNull();
      }
      // The descriptor used to be closed 1 s after its last read.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(new WalIndex(file).stamp()).not.toBeNull();
      expect(held()).toBe(before);
    },
  );

  it("no WAL index: no stamp", () => {
    expect(new WalIndex("/nonexistent/host.db").stamp()).toBeNull();
  });

  it("a second host's change shows at the next read, also when the last read was answered from the stamp", async () => {
    const { a, b } = await twoHosts();
    await change(b, 0);
    const first = await a.config.latestSeq("acme.p");
    expect(first).toBeGreaterThan(0);
    // Answered from the stamp: the same seq.
    expect(await a.config.latestSeq("acme.p")).toBe(first);
    await change(b, 1);
    const second = await a.config.latestSeq("acme.p");
    expect(second).toBeGreaterThan(first);
    expect(await a.config.latestSeq("acme.p")).toBe(second);
    await change(b, 2);
    expect(await a.config.latestSeq("acme.p")).toBeGreaterThan(second);
  });

  it("this host's own change shows at once", async () => {
    const { a } = await twoHosts();
    expect(await a.config.latestSeq("acme.p")).toBe(0);
    expect(await a.config.latestSeq("acme.p")).toBe(0);
    await change(a, 0);
    expect(await a.config.latestSeq("acme.p")).toBeGreaterThan(0);
  });

  it("the reader of its own connection answers what the store holds, and gives way when it cannot", async () => {
    const { a, b, file } = await twoHosts();
    const reader = new SeqReader(file);
    try {
      expect(reader.latestSeq("acme.p")).toBe(0);
      await change(b, 0);
      const seq = reader.latestSeq("acme.p");
      expect(seq).toBeGreaterThan(0);
      expect(await a.config.latestSeq("acme.p")).toBe(seq);
      await change(b, 1);
      expect(reader.latestSeq("acme.p")).toBeGreaterThan(seq!);
      expect(reader.latestSeq("other.p")).toBe(0);
    } finally {
      reader.close();
    }
    // Closed, or over a file without the table: undefined, and the store reads the usual way.
    expect(reader.latestSeq("acme.p")).toBeUndefined();
    const temp = await tempStore();
    cleanups.push(temp.cleanup);
    const empty = new SeqReader(join(temp.dir, "other.db"));
    expect(empty.latestSeq("acme.p")).toBeUndefined();
    empty.close();
  });
});
