/**
 * permissions.kv.maxKeys through a plugin: kv_set of a new key past the limit
 * answers quota_exceeded (overwrites and deletes still work), and the default
 * applies when the manifest sets none.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KvView } from "../../host/capabilities/kv-view.ts";
import { DEFAULT_KV_MAX_KEYS, MAX_KV_WRITES_PER_CALL } from "../../host/store/mod.ts";
import { outputOf, type TestHost, testHost } from "./harness.ts";
import { ops, signedProbe } from "./probe.ts";

describe("kv key limit", () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await testHost();
    await t.host.runtime.load(
      await signedProbe(t.key, "t.keys", { kv: { quotaBytes: 10_000, maxKeys: 2 } }),
      "test",
    );
  }, 120_000);
  afterAll(async () => await t?.close());

  const run = async (...list: Record<string, unknown>[]) =>
    outputOf(await t.call("t.keys", "run", ops(...list))) as unknown[];

  it("refuses a new key past maxKeys with quota_exceeded; overwrites and deletes go through", async () => {
    const out = await run(
      { fn: "kv_set", req: { key: "a", value: "1" } },
      { fn: "kv_set", req: { key: "b", value: "2" } },
      { fn: "kv_set", req: { key: "c", value: "3" } },
      { fn: "kv_set", req: { key: "a", value: "again" } },
      { fn: "kv_delete", req: { key: "b" } },
      { fn: "kv_set", req: { key: "c", value: "3" } },
    );
    expect(out[0]).toEqual({ ok: null });
    expect(out[1]).toEqual({ ok: null });
    expect(out[2]).toMatchObject({ error: { code: "quota_exceeded" } });
    expect((out[2] as { error: { message: string } }).error.message).toMatch(
      /hold 3 keys, over its limit of 2 .*permissions\.kv\.maxKeys/,
    );
    expect(out.slice(3)).toEqual([{ ok: null }, { ok: { deleted: true } }, { ok: null }]);
    expect(await t.host.store.kv.usage("t.keys")).toEqual({ keys: 2, bytes: 6 + 2 });
  });

  it("has a documented default", () => {
    expect(DEFAULT_KV_MAX_KEYS).toBe(10_000);
  });
});

describe("kv writes per call", () => {
  it("refuses a key past MAX_KV_WRITES_PER_CALL; rewriting a key already written still works", () => {
    const view = new KvView("p", { version: 0, entries: new Map(), bytes: 0 }, {
      quotaBytes: 1 << 30,
      maxKeys: 1_000_000,
    });
    for (let i = 0; i < MAX_KV_WRITES_PER_CALL; i++) view.set(`k${i}`, "v");
    expect(() => view.set("one-more", "v")).toThrow(
      `at most ${MAX_KV_WRITES_PER_CALL} keys; split the work`,
    );
    view.set("k0", "again");
    expect(view.delete("k1")).toBe(true);
    expect(view.writes.size).toBe(MAX_KV_WRITES_PER_CALL);
  });
});
