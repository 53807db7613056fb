import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OpenHost } from "../../host/core/mod.ts";
import {
  addSchedule,
  ManualClock,
  type RunningScheduler,
  startScheduler,
} from "../../host/scheduler/mod.ts";
import { LeasesRepository, SchedulesRepository } from "../../host/store/mod.ts";
import {
  eventsOf,
  hello,
  hostWith,
  scheduledRuns,
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

  // Occurrences are driven by a ManualClock: "three seconds pass" fires exactly the occurrences
  // that fall in them, whatever the machine's speed. Its start is near the wall clock, because
  // the store stamps rows (a schedule's updatedAt) with real time.
  const manualClock = () => new ManualClock(Math.ceil(Date.now() / 1000) * 1000 + 500);

  // Proves: each occurrence becomes exactly one run with trigger 'schedule', its correlation id
  // names the occurrence, and each has its schedule.triggered event.
  it("runs a per-second schedule with trigger 'schedule', one run per occurrence", async () => {
    const s = await addSchedule(host.store, manifest("example.hello"), {
      name: "greet-every-second",
      pluginId: "example.hello",
      capability: "greet",
      cron: "* * * * * *",
      input: { name: "cron" },
    });
    const clock = manualClock();
    const from = clock.now();
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store, clock });
    await clock.advance(3000);
    await scheduler.stop();
    const runs = await scheduledRuns(host.store);
    expect(runs.map((r) => r.correlationId)).toEqual(
      [500, 1500, 2500].map((d) => `${s.id}@${new Date(from + d).toISOString()}`),
    );
    expect(runs.every((r) => r.status === "ok" && r.capability === "greet")).toBe(true);
    const triggered = await eventsOf(host.store, "schedule.triggered");
    expect(triggered.map((e) => e.runId).sort()).toEqual(runs.map((r) => r.id).sort());
    expect(triggered[0]!.payload).toMatchObject({
      schedule: "greet-every-second",
      reason: "timer",
    });
  });

  // Proves: the default clock really fires through croner's timers, for cron and interval
  // schedules, each occurrence once. Waits for runs to appear; it never counts against time.
  it("fires cron and interval schedules on the wall clock through croner", async () => {
    const cron = await addSchedule(host.store, manifest("example.hello"), {
      name: "cron-wall",
      pluginId: "example.hello",
      capability: "greet",
      cron: "* * * * * *",
      input: { name: "wall" },
    });
    const interval = await addSchedule(host.store, manifest("example.hello"), {
      name: "interval-wall",
      pluginId: "example.hello",
      capability: "greet",
      intervalMs: 1000,
      input: { name: "wall" },
    });
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store, pollMs: 200 });
    const of = async (id: string) =>
      (await scheduledRuns(host.store)).filter((r) => r.correlationId!.startsWith(`${id}@`));
    expect(
      await until(
        async () => (await of(cron.id)).length >= 2 && (await of(interval.id)).length >= 2,
        60_000,
      ),
    ).toBe(true);
    await scheduler.stop();
    const runs = await scheduledRuns(host.store);
    expect(runs.every((r) => r.status === "ok")).toBe(true);
    expect(new Set(runs.map((r) => r.correlationId)).size).toBe(runs.length);
    for (const r of await of(interval.id)) {
      expect((Date.parse(r.correlationId!.split("@")[1]!) - interval.anchorAt) % 1000).toBe(0);
    }
  }, 90_000);

  // Proves: an occurrence that falls while the previous run goes on is skipped and recorded
  // (reason 'overlap'), never run alongside it, and the next free occurrence runs again.
  it("skips an occurrence while the previous run is still going, and records it", async () => {
    const s = await addSchedule(host.store, manifest("test.slow"), {
      name: "slow",
      pluginId: "test.slow",
      capability: "spin",
      cron: "* * * * * *",
    });
    const clock = manualClock();
    const from = clock.now();
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store, clock });
    // The first occurrence's run starts (it spins until its fuel or its timeout ends it); the second
    // occurrence falls before that advance has returned, so while the run is still going.
    const first = clock.advance(1000);
    await clock.advance(1000);
    await first;
    await clock.advance(1000);
    await scheduler.stop();
    const at = (d: number) => new Date(from + d).toISOString();
    const runs = await scheduledRuns(host.store);
    expect(runs.map((r) => r.correlationId)).toEqual([`${s.id}@${at(500)}`, `${s.id}@${at(2500)}`]);
    const skipped = await eventsOf(host.store, "schedule.skipped");
    expect(skipped.map((e) => e.payload)).toMatchObject([
      { reason: "overlap", schedule: "slow", occurrence: at(1500) },
    ]);
    // No two runs overlap in time.
    const spans = runs.map((r) => [Date.parse(r.startedAt), Date.parse(r.endedAt!)] as const);
    expect(spans[1]![0]).toBeGreaterThanOrEqual(spans[0]![1]);
  });

  // Proves: on start, occurrences missed while no host ran are counted; 'skip' records them,
  // 'catch-up-once' runs the latest one once; a second start finds nothing more missed.
  it("applies the missed-occurrence policy on start: catch-up-once runs the latest once", async () => {
    const repo = new SchedulesRepository(host.store.db);
    // Now is 1 s past a multiple of 10 s; the schedules were added a minute ago while no host ran.
    const now = Math.floor(Date.now() / 10_000) * 10_000 + 1000;
    const clock = new ManualClock(now);
    const minuteAgo = now - 60_000;
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
    // The start applies the policies before it returns (the catch-up run included).
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store, clock });
    await scheduler.stop();
    const missedEvents = async () => await eventsOf(host.store, "schedule.missed");
    const missed = await missedEvents();
    const byName = new Map(missed.map((e) => [(e.payload as { schedule: string }).schedule, e]));
    // Missed: the five occurrences from 51 s to 11 s ago; the one 1 s ago is inside the 5 s
    // grace the scheduler allows at start.
    const last = new Date(now - 11_000).toISOString();
    const first = new Date(now - 51_000).toISOString();
    expect(byName.get("skip")!.payload).toMatchObject({
      policy: "skip",
      scheduleId: skip.id,
      count: 5,
      first,
      last,
    });
    const caught = byName.get("catch-up")!.payload as { runId: string };
    expect(caught).toMatchObject({
      policy: "catch-up-once",
      scheduleId: catchUp.id,
      count: 5,
      first,
      last,
    });
    const runs = await scheduledRuns(host.store);
    expect(runs.map((r) => [r.id, r.correlationId])).toEqual([
      [caught.runId, `${catchUp.id}@${last}`],
    ]);

    // A second start finds nothing missed: the policy was applied and recorded once.
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store, clock });
    await scheduler.stop();
    expect((await missedEvents()).length).toBe(2);
  });

  // Proves: a paused schedule has no timer and no runs while paused, resumes on the next poll,
  // and the paused time is not reported as missed.
  it("pauses and resumes; a paused schedule does not run and its pause is not 'missed'", async () => {
    const repo = new SchedulesRepository(host.store.db);
    await addSchedule(host.store, manifest("example.hello"), {
      name: "pausable",
      pluginId: "example.hello",
      capability: "greet",
      cron: "* * * * * *",
      input: { name: "p" },
    });
    const clock = manualClock();
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store, clock });
    await clock.advance(1000);
    expect(await scheduledRuns(host.store)).toHaveLength(1);
    await repo.setState("pausable", "paused");
    await scheduler.poll();
    expect(scheduler.armed()).toEqual([]);
    expect(clock.armed).toBe(0);
    await clock.advance(3000);
    expect(await scheduledRuns(host.store)).toHaveLength(1);
    await repo.setState("pausable", "active");
    await scheduler.poll();
    expect(scheduler.armed()).toEqual(["pausable"]);
    await clock.advance(1000);
    expect(await scheduledRuns(host.store)).toHaveLength(2);
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
    // Waits for the takeover's run (the first poll finds the expired lease); no time is counted.
    expect(await until(async () => (await scheduledRuns(host.store)).length === 1, 30_000)).toBe(
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

  // Proves: interval occurrences fall on the grid anchor + k * interval, each run once.
  it("runs interval schedules on their fixed grid", async () => {
    const s = await addSchedule(host.store, manifest("example.hello"), {
      name: "every-2s",
      pluginId: "example.hello",
      capability: "greet",
      intervalMs: 2000,
      input: { name: "i" },
    });
    const clock = new ManualClock(s.anchorAt + 100);
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store, clock });
    await clock.advance(4500);
    await scheduler.stop();
    const runs = await scheduledRuns(host.store);
    expect(runs.map((r) => r.correlationId)).toEqual(
      [2000, 4000].map((d) => `${s.id}@${new Date(s.anchorAt + d).toISOString()}`),
    );
  });
});
