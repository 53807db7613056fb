import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../host/store/mod.ts";
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
const bytes = (text: string) => new TextEncoder().encode(text);

describe("kv", () => {
  it("gets, sets, overwrites and deletes within one plugin's namespace", async () => {
    await store.kv.set("a", "k", bytes("one"));
    await store.kv.set("b", "k", bytes("other plugin"));
    await store.kv.set("a", "k", bytes("two"));
    expect(new TextDecoder().decode(await store.kv.get("a", "k"))).toBe("two");
    expect(new TextDecoder().decode(await store.kv.get("b", "k"))).toBe("other plugin");
    expect(await store.kv.delete("a", "k")).toBe(true);
    expect(await store.kv.delete("a", "k")).toBe(false);
    expect(await store.kv.get("a", "k")).toBeUndefined();
    expect(await store.kv.get("b", "k")).toBeDefined();
  });

  it("lists by prefix in byte order with a cursor", async () => {
    for (const key of ["user:2", "user:1", "user:10", "users", "admin", "user:é"]) {
      await store.kv.set("p", key, bytes("v"));
    }
    const page1 = await store.kv.list("p", { prefix: "user:", limit: 2 });
    expect(page1.entries.map((e) => e.key)).toEqual(["user:1", "user:10"]);
    const page2 = await store.kv.list("p", { prefix: "user:", limit: 2, cursor: page1.cursor! });
    expect(page2.entries.map((e) => e.key)).toEqual(["user:2", "user:é"]);
    expect((await store.kv.list("p", { prefix: "user:", cursor: page2.cursor! })).entries).toEqual(
      [],
    );
    expect((await store.kv.list("p")).entries).toHaveLength(6);
    expect(page1.entries[0]).toMatchObject({ size: "user:1".length + 1 });
  });

  it("enforces the quota on key plus value bytes, counting an overwrite once", async () => {
    await store.kv.set("q", "aa", new Uint8Array(8), { quotaBytes: 20 }); // 10 bytes
    await store.kv.set("q", "aa", new Uint8Array(18), { quotaBytes: 20 }); // replaces: 20 bytes
    await expect(store.kv.set("q", "b", new Uint8Array(0), { quotaBytes: 20 })).rejects
      .toMatchObject({
        code: "quota_exceeded",
      });
    expect(await store.kv.usage("q")).toEqual({ keys: 1, bytes: 20 });
    await store.kv.delete("q", "aa");
    await store.kv.set("q", "b", new Uint8Array(19), { quotaBytes: 20 });
    expect(await store.kv.usage("q")).toEqual({ keys: 1, bytes: 20 });
  });

  it("keeps the quota under concurrent writers (check and write in one transaction)", async () => {
    const other = await openStore({ url: db.url });
    const writes = Array.from(
      { length: 20 },
      (_, i) =>
        (i % 2 ? other : store).kv.set("c", `key${String(i).padStart(2, "0")}`, new Uint8Array(5), {
          quotaBytes: 50,
        })
          .then(() => "ok", (e: { code?: string }) => e.code),
    );
    const results = await Promise.all(writes);
    expect(results.filter((r) => r === "ok")).toHaveLength(5); // 5 keys x (5 + 5) bytes = 50
    expect(results.filter((r) => r === "quota_exceeded")).toHaveLength(15);
    expect((await store.kv.usage("c")).bytes).toBe(50);
    await other.close();
  });

  it("refuses empty and oversized keys", async () => {
    await expect(store.kv.set("p", "", bytes("v"))).rejects.toMatchObject({
      code: "invalid_input",
    });
    await expect(store.kv.get("p", "x".repeat(1025))).rejects.toMatchObject({
      code: "invalid_input",
    });
  });
});

describe("plugins", () => {
  it("installs, replaces, lists, disables and removes plugin records", async () => {
    await store.plugins.put({
      id: "b.two",
      version: "1.0.0",
      digest: "sha256:1",
      signerKeyIds: ["0123456789abcdef"],
    });
    await store.plugins.put({ id: "a.one", version: "0.1.0", digest: "sha256:2" });
    await store.plugins.put({
      id: "b.two",
      version: "1.1.0",
      digest: "sha256:3",
      signerKeyIds: ["0123456789abcdef"],
    });
    const list = await store.plugins.list();
    expect(list.map((p) => [p.id, p.version, p.state])).toEqual([["a.one", "0.1.0", "enabled"], [
      "b.two",
      "1.1.0",
      "enabled",
    ]]);
    expect(await store.plugins.setState("b.two", "disabled")).toBe(true);
    expect(await store.plugins.get("b.two")).toMatchObject({
      state: "disabled",
      signerKeyIds: ["0123456789abcdef"],
      digest: "sha256:3",
    });
    expect(await store.plugins.remove("a.one")).toBe(true);
    expect(await store.plugins.get("a.one")).toBeUndefined();
    expect(await store.plugins.setState("a.one", "enabled")).toBe(false);
  });
});
