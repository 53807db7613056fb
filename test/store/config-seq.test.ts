/**
 * The config version every run reads (store.config.latestSeq) is answered
 * without a query while the database files show no commit since the last
 * read (host/store/quiet-files.ts): a change by another connection, as a
 * second host over the same database makes, must still show at the next read.
 * @module
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../host/store/mod.ts";
import { QUIET_MS, QuietFiles } from "../../host/store/quiet-files.ts";
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
  it("a commit by another connection changes a stamp taken while the files were quiet", async () => {
    const { b, file } = await twoHosts();
    await change(b, 0);
    const files = new QuietFiles(file);
    // Right after a commit the coarse file clock cannot vouch for the files.
    expect(files.stamp()).toBeNull();
    await sleep(QUIET_MS * 1.5);
    const before = files.stamp();
    expect(before).not.toBeNull();
    expect(files.stamp()).toBe(before);
    await change(b, 1);
    expect(files.stamp(Date.now() + QUIET_MS * 2)).not.toBe(before);
  });

  it("a second host's change shows at the next read, also when the last read was answered from the stamp", async () => {
    const { a, b } = await twoHosts();
    await change(b, 0);
    await sleep(QUIET_MS * 1.5);
    const first = await a.config.latestSeq("acme.p");
    expect(first).toBeGreaterThan(0);
    // Answered from the stamp (the files are quiet): the same seq.
    expect(await a.config.latestSeq("acme.p")).toBe(first);
    await change(b, 1);
    expect(await a.config.latestSeq("acme.p")).toBeGreaterThan(first);
    await sleep(QUIET_MS * 1.5);
    const second = await a.config.latestSeq("acme.p");
    await change(b, 2);
    expect(await a.config.latestSeq("acme.p")).toBeGreaterThan(second);
  });

  it("this host's own change shows at once", async () => {
    const { a } = await twoHosts();
    await sleep(QUIET_MS * 1.5);
    expect(await a.config.latestSeq("acme.p")).toBe(0);
    await change(a, 0);
    expect(await a.config.latestSeq("acme.p")).toBeGreaterThan(0);
  });
});
