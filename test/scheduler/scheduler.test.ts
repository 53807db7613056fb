import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OpenHost } from "../../host/runtime/mod.ts";
import { addSchedule, type RunningScheduler, startScheduler } from "../../host/scheduler/mod.ts";
import { LeasesRepository, SchedulesRepository } from "../../host/store/mod.ts";
import {
  eventsOf,
  hello,
  hostWith,
  scheduledRuns,
  sleep,
  slowPlugin,
  type TestHome,
  testHome,
  until,
} from "./helpers.ts";

describe("scheduler", () => {
  let home: TestHome;
  let host: OpenHost;
  let scheduler: RunningScheduler | undefined;

  beforeEach(async () => {
    home = await testHome();
    host = await hostWith(home, [await hello(home.key), await slowPlugin(home.key)]);
  });
  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
    await host.close();
    home.remove();
  });

  const manifest = (id: string) => host.runtime.get(id)!.manifest;

  it("runs a per-second schedule with trigger 'schedule', one run per occurrence", async () => {
    const s = await addSchedule(host.store, manifest("example.hello"), {
      name: "greet-every-second",
      pluginId: "example.hello",
      capability: "greet",
      cron: "* * * * * *",
      input: { name: "cron" },
    });
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store, pollMs: 200 });
    await sleep(3500);
    await scheduler.stop();
    const runs = await scheduledRuns(host.store);
    // About 3 in 3.5 s: a window, not a timing assertion.
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.length).toBeLessThanOrEqual(5);
    expect(runs.every((r) => r.status === "ok" && r.capability === "greet")).toBe(true);
    const ids = runs.map((r) => r.correlationId!);
    expect(new Set(ids).size).toBe(runs.length);
    expect(ids.every((id) => id.startsWith(`${s.id}@`) && id.endsWith(".000Z"))).toBe(true);
    const triggered = await eventsOf(host.store, "schedule.triggered");
    expect(triggered.map((e) => e.runId).sort()).toEqual(runs.map((r) => r.id).sort());
    expect(triggered[0]!.payload).toMatchObject({
      schedule: "greet-every-second",
      reason: "timer",
    });
  });

  it("skips an occurrence while the previous run is still going, and records it", async () => {
    await addSchedule(host.store, manifest("test.slow"), {
      name: "slow",
      pluginId: "test.slow",
      capability: "spin",
      cron: "* * * * * *",
    });
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store, pollMs: 200 });
    await sleep(5000);
    await scheduler.stop();
    const runs = await scheduledRuns(host.store);
    const skipped = await eventsOf(host.store, "schedule.skipped");
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(skipped.length).toBeGreaterThanOrEqual(1);
    expect(skipped[0]!.payload).toMatchObject({ reason: "overlap", schedule: "slow" });
    // No two runs overlap in time.
    const spans = runs.map((r) => [Date.parse(r.startedAt), Date.parse(r.endedAt!)] as const);
    for (let i = 1; i < spans.length; i++) {
      expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    }
    // Each occurrence either ran or was skipped, never both.
    const ran = new Set(runs.map((r) => r.correlationId!.split("@")[1]));
    for (const e of skipped) {
      expect(ran.has((e.payload as { occurrence: string }).occurrence)).toBe(false);
    }
  });

  it("applies the missed-occurrence policy on start: catch-up-once runs the latest once", async () => {
    const repo = new SchedulesRepository(host.store.db);
    const minuteAgo = Date.now() - 60_000;
    // As if added a minute ago while no host ran: about 6 occurrences of */10 were missed.
    const catchUp = await repo.create({
      name: "catch-up",
      pluginId: "example.hello",
      capability: "greet",
      cron: "*/10 * * * * *",
      input: { name: "late" },
      missed: "catch-up-once",
    }, minuteAgo);
    const skip = await repo.create({
      name: "skip",
      pluginId: "example.hello",
      capability: "greet",
      cron: "*/10 * * * * *",
      input: { name: "late" },
    }, minuteAgo);
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store });
    const missedEvents = async () => await eventsOf(host.store, "schedule.missed");
    expect(await until(async () => (await missedEvents()).length === 2, 5000)).toBe(true);
    await scheduler.stop();
    const missed = await missedEvents();
    const byName = new Map(missed.map((e) => [(e.payload as { schedule: string }).schedule, e]));
    expect(byName.get("skip")!.payload).toMatchObject({ policy: "skip", scheduleId: skip.id });
    const caught = byName.get("catch-up")!.payload as {
      count: number;
      last: string;
      runId: string;
    };
    expect(caught).toMatchObject({ policy: "catch-up-once", scheduleId: catchUp.id });
    expect(caught.count).toBeGreaterThanOrEqual(5);
    const runs = await scheduledRuns(host.store);
    const catchUpRuns = runs.filter((r) => r.correlationId === `${catchUp.id}@${caught.last}`);
    expect(catchUpRuns.map((r) => r.id)).toEqual([caught.runId]);

    // A second start finds nothing missed: the policy was applied and recorded once.
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store });
    await sleep(300);
    await scheduler.stop();
    expect((await missedEvents()).length).toBe(2);
  });

  it("pauses and resumes; a paused schedule does not run and its pause is not 'missed'", async () => {
    const repo = new SchedulesRepository(host.store.db);
    await addSchedule(host.store, manifest("example.hello"), {
      name: "pausable",
      pluginId: "example.hello",
      capability: "greet",
      cron: "* * * * * *",
      input: { name: "p" },
    });
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store, pollMs: 200 });
    expect(await until(async () => (await scheduledRuns(host.store)).length >= 1, 3000)).toBe(true);
    await repo.setState("pausable", "paused");
    await scheduler.poll();
    expect(scheduler.armed()).toEqual([]);
    await sleep(300); // a run in flight at the pause ends
    const atPause = (await scheduledRuns(host.store)).length;
    await sleep(2200);
    expect((await scheduledRuns(host.store)).length).toBe(atPause);
    await repo.setState("pausable", "active");
    await scheduler.poll();
    expect(scheduler.armed()).toEqual(["pausable"]);
    expect(await until(async () => (await scheduledRuns(host.store)).length > atPause, 3000))
      .toBe(true);
    expect(await eventsOf(host.store, "schedule.missed")).toEqual([]);
  });

  it("takes over an occurrence whose holder stopped renewing its lease", async () => {
    const s = await addSchedule(host.store, manifest("example.hello"), {
      name: "yearly",
      pluginId: "example.hello",
      capability: "greet",
      cron: "0 0 1 1 *",
      input: { name: "t" },
    });
    const occurrence = Math.floor(Date.now() / 1000) * 1000 - 3000;
    // A host that died mid-run: its lease on the occurrence expired a second ago.
    const leases = new LeasesRepository(host.store.client);
    const [claim] = await leases.claim(
      [{ scheduleId: s.id, occurrence }],
      "dead-host",
      Date.now() - 2000,
      1000,
    );
    expect(claim).toEqual({ kind: "claimed", attempts: 1, previousHolder: null });
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store });
    expect(await until(async () => (await scheduledRuns(host.store)).length === 1, 5000)).toBe(
      true,
    );
    await scheduler.stop();
    const [run] = await scheduledRuns(host.store);
    expect(run!.correlationId).toBe(`${s.id}@${new Date(occurrence).toISOString()}`);
    const [lease] = await leases.list(s.id);
    expect(lease).toMatchObject({
      state: "done",
      attempts: 2,
      holder: scheduler.holder,
      runId: run!.id,
    });
    const [triggered] = await eventsOf(host.store, "schedule.triggered");
    expect(triggered!.payload).toMatchObject({ reason: "takeover", previousHolder: "dead-host" });
  });

  it("keeps manifest schedules in step with the loaded plugin version", async () => {
    const withSchedules = (version: string, schedules: unknown[]) =>
      hello(home.key, (m) => {
        m.version = version;
        m.schedules = schedules;
      });
    const tick = { name: "tick", cron: "0 0 1 1 *", capability: "greet", input: { name: "a" } };
    await host.runtime.load(await withSchedules("1.1.0", [tick]), "test");
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store });
    const repo = new SchedulesRepository(host.store.db);
    const names = async () => (await repo.list({ pluginId: "example.hello" })).map((s) => s.name);
    expect(await names()).toEqual(["example.hello/tick"]);
    expect(scheduler.armed()).toEqual(["example.hello/tick"]);
    expect((await repo.get("example.hello/tick"))!.pluginVersion).toBe("1.1.0");

    const tock = { ...tick, name: "tock", input: { name: "b" } };
    await host.runtime.load(
      await withSchedules("1.2.0", [{ ...tick, cron: "0 0 2 1 *" }, tock]),
      "test",
    );
    await scheduler.poll();
    expect(await names()).toEqual(["example.hello/tick", "example.hello/tock"]);
    expect((await repo.get("example.hello/tick"))!).toMatchObject({
      cron: "0 0 2 1 *",
      pluginVersion: "1.2.0",
    });

    await host.runtime.load(await withSchedules("1.3.0", []), "test");
    await scheduler.poll();
    expect(await names()).toEqual([]);
    expect(scheduler.armed()).toEqual([]);
    const synced = await eventsOf(host.store, "schedule.synced");
    expect(synced.map((e) => e.payload)).toMatchObject([
      { added: ["example.hello/tick"] },
      { added: ["example.hello/tock"], updated: ["example.hello/tick"] },
      { removed: ["example.hello/tick", "example.hello/tock"] },
    ]);
  });

  it("refuses invalid cron expressions, unknown capabilities and bad input at add time", async () => {
    const base = {
      name: "x",
      pluginId: "example.hello",
      capability: "greet",
      input: { name: "a" },
    };
    const hello = manifest("example.hello");
    await expect(addSchedule(host.store, hello, { ...base, cron: "61 * * * *" })).rejects.toThrow(
      /Invalid cron expression '61 \* \* \* \*'.*minute/,
    );
    await expect(addSchedule(host.store, hello, { ...base, cron: "* * *" })).rejects.toThrow(
      /Invalid cron expression/,
    );
    await expect(
      addSchedule(host.store, hello, { ...base, cron: "* * * * *", timezone: "Mars/Olympus" }),
    ).rejects.toThrow(/Unknown time zone 'Mars\/Olympus'/);
    await expect(
      addSchedule(host.store, hello, { ...base, capability: "shout", cron: "* * * * *" }),
    ).rejects.toThrow(/has no capability 'shout' \(it has: greet\)/);
    await expect(
      addSchedule(host.store, hello, { ...base, input: { nom: 1 }, cron: "* * * * *" }),
    ).rejects.toThrow(/does not match example.hello\/greet's input schema/);
    await expect(
      addSchedule(host.store, hello, { ...base, name: "a/b", cron: "* * * * *" }),
    ).rejects.toThrow(/Invalid schedule name/);
    await addSchedule(host.store, hello, { ...base, cron: "* * * * *" });
    await expect(addSchedule(host.store, hello, { ...base, intervalMs: 5000 })).rejects.toThrow(
      /A schedule named 'x' exists/,
    );
    expect((await new SchedulesRepository(host.store.db).list()).map((s) => s.name)).toEqual(["x"]);
  });

  it("runs interval schedules on their fixed grid", async () => {
    const s = await addSchedule(host.store, manifest("example.hello"), {
      name: "every-2s",
      pluginId: "example.hello",
      capability: "greet",
      intervalMs: 2000,
      input: { name: "i" },
    });
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store });
    await sleep(4500);
    await scheduler.stop();
    const runs = await scheduledRuns(host.store);
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs.length).toBeLessThanOrEqual(3);
    for (const r of runs) {
      const planned = Date.parse(r.correlationId!.split("@")[1]!);
      expect((planned - s.anchorAt) % 2000).toBe(0);
    }
  });
});
