import { afterEach, describe, expect, it } from "vitest";
import { outputOf, type TestHost, testHost } from "./harness.ts";

describe("plugins/counter over openHost (KV through the capability provider)", () => {
  let t: TestHost | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("counts 1, 2, 3 across calls, and across a restart of the host", async () => {
    t = await testHost();
    await t.load("counter");
    expect(outputOf(await t.call("example.counter", "increment"))).toBe(1);
    expect(outputOf(await t.call("example.counter", "increment"))).toBe(2);
    const home = t.home;
    await t.host.close();
    const again = await testHost(undefined, home);
    t = again;
    await t.load("counter");
    expect(outputOf(await t.call("example.counter", "increment", { by: 5 }))).toBe(7);
    expect(outputOf(await t.call("example.counter", "get"))).toBe(7);
    expect(await t.host.store.kv.usage("example.counter")).toEqual({
      keys: 1,
      bytes: "count".length + "7".length,
    });
  });

  it("drops the writes of a failed call (KV is transactional per call)", async () => {
    t = await testHost();
    await t.load("counter");
    expect(outputOf(await t.call("example.counter", "increment"))).toBe(1);
    // by=0 fails after nothing was written; fail with a fuel budget too small to finish instead:
    const starved = await t.host.runtime.invoke({
      pluginId: "example.counter",
      capability: "increment",
      input: new Uint8Array(),
      trigger: "cli",
      limits: { fuel: 20_000n },
      durable: true,
    });
    expect(starved.ok).toBe(false);
    expect(outputOf(await t.call("example.counter", "get"))).toBe(1);
  });

  it("without permissions.kv: permission_denied to the plugin and an audit.denied event", async () => {
    t = await testHost();
    await t.load("counter", (m) => {
      m.permissions = {};
    });
    const result = await t.call("example.counter", "increment");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.class).toBe("plugin_error");
    expect(result.error.message).toContain("permission_denied");
    const audit = await t.events({ type: "audit.denied" });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      pluginId: "example.counter",
      runId: result.runId,
      level: "warn",
      payload: { function: "kv_get", asked: { key: "count" } },
    });
    expect(await t.host.store.kv.usage("example.counter")).toEqual({ keys: 0, bytes: 0 });
  });
});
