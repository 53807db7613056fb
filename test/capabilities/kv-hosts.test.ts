/**
 * KV across hosts and concurrent runs: two hosts on one database file see
 * each other's commits at their next call; concurrent runs in one host commit
 * separately and never pass the quota together.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { outputOf, type TestHost, testHost } from "./harness.ts";
import { ops, signedProbe } from "./probe.ts";

describe("KV across hosts and concurrent runs", () => {
  const hosts: TestHost[] = [];
  afterEach(async () => {
    for (const h of hosts.splice(0)) await h.host.close();
  });

  it("a second host on the same database sees the first one's writes, and the other way round", async () => {
    const home = mkdtempSync(join(tmpdir(), "plughost-kv-hosts-"));
    try {
      const a = await testHost(undefined, home);
      hosts.push(a);
      const b = await testHost(undefined, home);
      hosts.push(b);
      await a.load("counter");
      await b.load("counter");
      expect(outputOf(await a.call("example.counter", "increment"))).toBe(1);
      expect(outputOf(await b.call("example.counter", "increment"))).toBe(2);
      expect(outputOf(await a.call("example.counter", "increment"))).toBe(3);
      expect(outputOf(await b.call("example.counter", "reset"))).toBe(true);
      expect(outputOf(await a.call("example.counter", "get"))).toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("concurrent runs that each fit the quota cannot pass it together: the later commit fails", async () => {
    const t = await testHost();
    hosts.push(t);
    // Worker mode (invoke granted) runs two calls of one plugin at once.
    await t.host.runtime.load(
      await signedProbe(t.key, "t.conc", { kv: { quotaBytes: 100 }, invoke: ["t.x/run"] }),
      "test",
    );
    const write = (key: string) =>
      t.call("t.conc", "run", ops({ fn: "kv_set", req: { key, value: "v".repeat(60) } }));
    const results = await Promise.all([write("k1"), write("k2")]);
    const ok = results.filter((r) => r.ok);
    const failed = results.filter((r) => !r.ok);
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.ok ? "" : failed[0]!.error.class).toBe("quota_exceeded");
    expect((await t.host.store.kv.usage("t.conc")).bytes).toBe(62);
    const record = await t.host.store.runs.get(failed[0]!.runId);
    expect(record?.status).toBe("error");
  });
});
