/**
 * Hooks as runs through the one invoke: onLoad starts a plugin (a failing or
 * endless one leaves it in `error` within its timeout while the host serves
 * the others), onShutdown runs when a plugin is disabled, replaced or the
 * host closes (one that hangs does not keep the host from closing), and a
 * schedule may target onSchedule. Every move is a plugin.state_changed event.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startScheduler } from "../../host/scheduler/mod.ts";
import { openStore, type RunRecord } from "../../host/store/mod.ts";
import { type TestHost, testHost } from "../capabilities/harness.ts";
import { until } from "../scheduler/helpers.ts";
import { lifecyclePlugin } from "./fixture.ts";

let t: TestHost | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The `to` of every plugin.state_changed event of a plugin, in order. */
async function moves(host: TestHost, pluginId: string): Promise<string[]> {
  const events = await host.events({ type: "plugin.state_changed" });
  return events.filter((e) => e.pluginId === pluginId).map((e) =>
    String((e.payload as { to: string }).to)
  );
}

async function hookRuns(host: TestHost, pluginId: string, hook: string): Promise<RunRecord[]> {
  await host.host.store.flush();
  const page = await host.host.store.runs.list({ pluginId, limit: 100 });
  return page.runs.filter((r) => r.trigger === "hook" && r.capability === `hook:${hook}`);
}

describe("onLoad", () => {
  it("starts a plugin as a run of trigger hook: installed -> loading -> active", async () => {
    t = await testHost();
    const info = await t.host.runtime.load(
      await lifecyclePlugin(t.key, "t.good", { hooks: { onLoad: "ok" } }),
      "test",
    );
    expect(info.id).toBe("t.good");
    expect(t.host.runtime.status("t.good")?.state).toBe("active");
    expect(await moves(t, "t.good")).toEqual(["installed", "loading", "active"]);
    const [run] = await hookRuns(t, "t.good", "onLoad");
    expect(run).toMatchObject({ status: "ok", trigger: "hook", export: "ok" });
    const finished = await t.events({ type: "run.finished", runId: run!.id });
    expect(finished[0]?.payload).toMatchObject({ hook: "onLoad", trigger: "hook" });
  });

  it(
    "an onLoad that loops forever is in error within its timeout while another plugin serves",
    async () => {
      // Fuel past what the loop burns in its 1.5 s timeout on a fast machine (the default 1e9
      // lasts ~500 ms on Node here): the hook must still be loading while the calls below run.
      t = await testHost(undefined, undefined, { fuel: 10_000_000_000n });
      await t.load("hello");
      const loading = t.host.runtime.load(
        await lifecyclePlugin(t.key, "t.endless", { hooks: { onLoad: "spin", timeoutMs: 1500 } }),
        "test",
      );
      // While its onLoad spins, the other plugin serves and it refuses calls as not ready.
      expect(
        await until(() => t!.host.runtime.status("t.endless")?.state === "loading", 20_000),
      )
        .toBe(true);
      const served = await t.call("example.hello", "greet", { name: "meanwhile" });
      expect(served.ok).toBe(true);
      const refused = await t.call("t.endless", "ok").catch((error) => error);
      expect(refused).toMatchObject({ code: "not_ready" });
      await loading;
      const status = t.host.runtime.status("t.endless");
      expect(status?.state).toBe("error");
      expect(status?.reason).toMatch(/^onLoad failed: (timeout|fuel_exhausted)/);
      const [run] = await hookRuns(t, "t.endless", "onLoad");
      // It was bounded by the hook's own timeout, recorded as the run's limit.
      expect(run?.status).toBe("error");
      expect(run?.limits).toMatchObject({ timeoutMs: 1500 });
      expect(await moves(t, "t.endless")).toEqual(["installed", "loading", "error"]);
      expect((await t.call("example.hello", "greet", { name: "after" })).ok).toBe(true);
    },
    60_000,
  );

  it("a failing onLoad is error; resume runs onLoad again", async () => {
    t = await testHost();
    await t.host.runtime.load(
      await lifecyclePlugin(t.key, "t.bad", { hooks: { onLoad: "fail" } }),
      "test",
    );
    expect(t.host.runtime.status("t.bad")?.state).toBe("error");
    await expect(t.call("t.bad", "ok")).rejects.toMatchObject({ code: "not_ready" });
    expect(await t.host.runtime.lifecycle.resume("t.bad", "test")).toBe("error");
    expect((await hookRuns(t, "t.bad", "onLoad")).length).toBe(2);
    await expect(t.host.runtime.lifecycle.resume("example.none", "test")).rejects.toMatchObject({
      code: "not_found",
    });
  });
});

describe("onShutdown", () => {
  it("runs on disable, upgrade and host close; enable runs onLoad again", async () => {
    t = await testHost();
    const hooks = { hooks: { onLoad: "ok", onShutdown: "ok" } };
    await t.host.runtime.load(await lifecyclePlugin(t.key, "t.stop", hooks), "test");
    await t.host.runtime.setState("t.stop", "disabled");
    expect(t.host.runtime.status("t.stop")?.state).toBe("stopped");
    await expect(t.call("t.stop", "ok")).rejects.toMatchObject({ code: "conflict" });
    await t.host.runtime.setState("t.stop", "enabled");
    expect(t.host.runtime.status("t.stop")?.state).toBe("active");
    await t.host.runtime.load(await lifecyclePlugin(t.key, "t.stop", hooks, "1.1.0"), "test");
    expect(t.host.runtime.status("t.stop")?.state).toBe("active");
    expect(await moves(t, "t.stop")).toEqual([
      "installed",
      "loading",
      "active",
      "stopping",
      "stopped", // disabled
      "loading",
      "active", // enabled
      "stopping",
      "stopped", // replaced by 1.1.0
      "loading",
      "active",
    ]);
    expect((await hookRuns(t, "t.stop", "onShutdown")).map((r) => r.status)).toEqual(["ok", "ok"]);
    // Host close: the third onShutdown, recorded before the store closes.
    const home = t.home;
    const db = t.host.store.url;
    await t.host.close();
    const store = await openStore({ url: db });
    try {
      const runs = (await store.runs.list({ pluginId: "t.stop", limit: 100 })).runs;
      expect(runs.filter((r) => r.capability === "hook:onShutdown").map((r) => r.pluginVersion))
        .toEqual(["1.1.0", "1.0.0", "1.0.0"]);
      const last = (await store.events.query({ type: "plugin.state_changed", pluginId: "t.stop" }))
        .events.at(-1);
      expect(last?.payload).toMatchObject({ to: "stopped", reason: "host stopping" });
    } finally {
      await store.close();
      t.host.close = async () => {}; // closed above; afterEach removes the directory
      void home;
    }
  });

  it("runs on unload, but not when the signer is no longer trusted", async () => {
    t = await testHost();
    const hooks = { hooks: { onShutdown: "ok" } };
    await t.host.runtime.load(await lifecyclePlugin(t.key, "t.one", hooks), "test");
    await t.host.runtime.load(await lifecyclePlugin(t.key, "t.two", hooks), "test");
    await t.host.runtime.unload("t.one");
    await t.host.runtime.unload("t.two", { trusted: false });
    expect((await hookRuns(t, "t.one", "onShutdown")).length).toBe(1);
    expect((await hookRuns(t, "t.two", "onShutdown")).length).toBe(0);
    const last = (await t.events({ type: "plugin.state_changed" })).filter((e) =>
      e.pluginId === "t.two"
    ).at(-1);
    expect(last?.payload).toMatchObject({ to: "stopped", reason: "signer no longer trusted" });
  });

  it("an onShutdown that hangs does not keep the host from closing; it is recorded", async () => {
    t = await testHost();
    await t.host.runtime.load(
      await lifecyclePlugin(t.key, "t.hang", { hooks: { onShutdown: "spin", timeoutMs: 500 } }),
      "test",
    );
    const db = t.host.store.url;
    await t.host.close();
    t.host.close = async () => {};
    const store = await openStore({ url: db });
    try {
      const runs = (await store.runs.list({ pluginId: "t.hang", limit: 10 })).runs;
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ capability: "hook:onShutdown", status: "error" });
      expect(runs[0]!.limits).toMatchObject({ timeoutMs: 500 });
      const last = (await store.events.query({ type: "plugin.state_changed", pluginId: "t.hang" }))
        .events.at(-1);
      expect(last?.payload).toMatchObject({ from: "stopping", to: "stopped" });
      expect((last?.payload as { error?: { class: string } }).error?.class).toMatch(
        /timeout|fuel_exhausted/,
      );
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe("onSchedule", () => {
  it("a manifest schedule may target the onSchedule hook: a hook run per occurrence", async () => {
    t = await testHost();
    await t.host.runtime.load(
      await lifecyclePlugin(t.key, "t.tick", {
        hooks: { onSchedule: "ok" },
        schedules: [{ name: "tick", cron: "* * * * * *", hook: "onSchedule" }],
      }),
      "test",
    );
    const scheduler = await startScheduler({ runtime: t.host.runtime, store: t.host.store });
    try {
      expect(
        await until(async () => (await hookRuns(t!, "t.tick", "onSchedule")).length > 0, 20_000),
      ).toBe(true);
    } finally {
      await scheduler.stop();
    }
    const [run] = await hookRuns(t, "t.tick", "onSchedule");
    expect(run).toMatchObject({ status: "ok", export: "ok", trigger: "hook" });
    expect(run?.correlationId).toMatch(/@/);
  }, 60_000);
});
