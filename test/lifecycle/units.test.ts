/**
 * The lifecycle's pure parts: the transition table refuses every move it
 * does not list; the circuit breaker opens on consecutive failures and on an
 * error rate, lets one probe through after its cool-down, doubles the
 * cool-down after a failed probe and closes on a good one; the policy caps a
 * manifest's breaker and hook timeout.
 */
import { describe, expect, it } from "vitest";
import {
  Breaker,
  canMove,
  Lifecycles,
  pluginStates,
  transitions,
} from "../../host/lifecycle/mod.ts";
import { assertMove } from "../../host/lifecycle/states.ts";
import { parseManifest } from "../../host/manifest/mod.ts";
import { checkManifest, lifecycleSettings } from "../../host/policy/mod.ts";

const policy = {
  failures: 3,
  windowMs: 10_000,
  errorRate: 0.5,
  minCalls: 4,
  coolDownMs: 1_000,
  recovery: "retry" as const,
};

describe("transition table", () => {
  it("allows exactly the listed moves and names the allowed ones when refusing", () => {
    for (const from of pluginStates) {
      for (const to of pluginStates) {
        expect(canMove(from, to)).toBe(transitions[from].includes(to));
      }
    }
    expect(canMove("loading", "active")).toBe(true);
    expect(canMove("stopped", "active")).toBe(false);
    expect(() => assertMove("p", "stopped", "active")).toThrow(
      /cannot go from stopped to active \(from stopped it may go to: loading\)/,
    );
  });
});

describe("Lifecycles", () => {
  it("refuses an illegal move without an event, and gates calls by state", async () => {
    const events: { type: string; payload: Record<string, unknown> }[] = [];
    let now = 0;
    const hooks: string[] = [];
    const life = new Lifecycles({
      publish: (e) => events.push(e),
      runHook: (_id, hook) => {
        hooks.push(hook);
        return Promise.resolve({ runId: "r1", ok: true });
      },
      restart: () => Promise.resolve(),
      now: () => now,
    });
    const manifest = parseManifest(JSON.stringify({
      schemaVersion: 1,
      id: "t.unit",
      version: "1.0.0",
      name: "Unit",
      engines: { host: "*", abi: 1 },
      capabilities: {},
      hooks: { onLoad: "start", onShutdown: "stop" },
    }));
    life.register("t.unit", manifest, {
      hookTimeoutMs: 100,
      breaker: { ...policy, failures: 1, coolDownMs: 10 },
    });
    expect(() => life.move("t.unit", "active", "skip loading")).toThrow(/cannot go from installed/);
    expect(events.map((e) => e.payload.to)).toEqual(["installed"]);
    expect(() => life.admit("t.unit", undefined)).toThrow(/is installed/);
    expect(await life.start("t.unit", "test")).toBe("active");
    expect(hooks).toEqual(["onLoad"]);
    // onLoad runs only while loading.
    expect(() => life.admit("t.unit", "onLoad")).toThrow(/runs only while it is loading/);
    const ticket = life.admit("t.unit", undefined);
    life.settle(ticket, "trap");
    expect(life.state("t.unit")).toBe("suspended");
    expect(() => life.admit("t.unit", undefined)).toThrow(
      expect.objectContaining({ code: "plugin_suspended", headers: { "retry-after": "1" } }),
    );
    now = 10;
    const probe = life.admit("t.unit", undefined);
    expect(probe?.probe).toBe(true);
    life.settle(probe, undefined);
    expect(life.state("t.unit")).toBe("active");
    expect(life.counts()).toMatchObject({ active: 1, suspended: 0 });
    await life.stop("t.unit", "test");
    expect(hooks).toEqual(["onLoad", "onShutdown"]);
    expect(events.filter((e) => e.type === "plugin.state_changed").map((e) => e.payload.to))
      .toEqual(["installed", "loading", "active", "suspended", "active", "stopping", "stopped"]);
  });
});

describe("circuit breaker", () => {
  it("opens after consecutive failures, probes after the cool-down, backs off, then closes", () => {
    const b = new Breaker(policy);
    expect(b.record(0, true, false)).toBeUndefined();
    expect(b.record(1, true, false)).toBeUndefined();
    const opened = b.record(2, true, false);
    expect(opened).toMatchObject({ kind: "opened", probe: false, retryAtMs: 1_002 });
    expect(b.state).toBe("open");
    expect(b.admit(500)).toEqual({ kind: "refuse", retryAtMs: 1_002 });
    expect(b.admit(1_002)).toEqual({ kind: "probe" });
    // While the probe runs, everyone else is refused.
    expect(b.admit(1_003).kind).toBe("refuse");
    // A failed probe opens it again with the cool-down doubled.
    expect(b.record(1_100, true, true)).toMatchObject({ kind: "opened", retryAtMs: 3_100 });
    expect(b.admit(3_099).kind).toBe("refuse");
    expect(b.admit(3_100)).toEqual({ kind: "probe" });
    expect(b.record(3_200, false, true)).toEqual({ kind: "closed" });
    expect(b.state).toBe("closed");
    expect(b.trips).toBe(2);
    expect(b.admit(3_201)).toEqual({ kind: "call" });
  });

  it("opens on the error rate in the window once it holds minCalls runs", () => {
    const b = new Breaker({ ...policy, failures: 100 });
    // ok, fail, ok, fail: 2 of 4 failed, never two in a row.
    expect(b.record(0, false, false)).toBeUndefined();
    expect(b.record(1, true, false)).toBeUndefined();
    expect(b.record(2, false, false)).toBeUndefined();
    expect(b.record(3, true, false)).toMatchObject({ kind: "opened" });
  });

  it("forgets runs older than the window", () => {
    const b = new Breaker({ ...policy, failures: 100 });
    b.record(0, true, false);
    b.record(1, true, false);
    // Both failures left the window: 1 failure of 3 runs in it.
    b.record(20_000, false, false);
    b.record(20_001, false, false);
    expect(b.record(20_002, true, false)).toBeUndefined();
    expect(b.state).toBe("closed");
  });

  it("counts a busy plugin's window in fixed buckets: exact per bucket, O(1) a run", () => {
    // 6,400 ms in 64 buckets of 100 ms; a run every 10 ms for 100 s.
    const b = new Breaker({ ...policy, failures: 10_000, windowMs: 6_400, minCalls: 10 });
    for (let at = 0; at < 100_000; at += 10) expect(b.record(at, false, false)).toBeUndefined();
    // The window now holds the last 64 buckets, 10 runs each: the 640th failure makes it half.
    for (let i = 1; i < 640; i++) expect(b.record(99_995, true, false)).toBeUndefined();
    expect(b.record(99_995, true, false)).toMatchObject({
      kind: "opened",
      reason: "640 of 1280 runs failed in 6400 ms",
    });
  });

  it("never probes under recovery 'disable', and a probe that never ran is given back", () => {
    const off = new Breaker({ ...policy, recovery: "disable" });
    for (let i = 0; i < 3; i++) off.record(i, true, false);
    expect(off.admit(1_000_000)).toEqual({ kind: "refuse", retryAtMs: undefined });
    const b = new Breaker(policy);
    for (let i = 0; i < 3; i++) b.record(i, true, false);
    expect(b.admit(5_000).kind).toBe("probe");
    b.release();
    expect(b.admit(5_001).kind).toBe("probe");
  });
});

describe("policy over lifecycle settings", () => {
  const manifest = (extra: Record<string, unknown>) =>
    parseManifest(JSON.stringify({
      schemaVersion: 1,
      id: "t.life",
      version: "1.0.0",
      name: "Life",
      engines: { host: "*", abi: 1 },
      capabilities: {},
      ...extra,
    }));

  it("defaults to the policy's values and caps the manifest's asks", () => {
    const settings = lifecycleSettings({
      schemaVersion: 1,
      defaults: { hookTimeoutMs: 2_000, breaker: { failures: 4, coolDownMs: 9_000 } },
    });
    expect(settings(manifest({}))).toEqual({
      hookTimeoutMs: 2_000,
      breaker: {
        failures: 4,
        windowMs: 60_000,
        errorRate: 0.5,
        minCalls: 10,
        coolDownMs: 9_000,
        recovery: "retry",
      },
    });
    const asked = settings(manifest({
      hooks: { timeoutMs: 60_000 },
      limits: { breaker: { failures: 2, coolDownMs: 100_000, recovery: "restart" } },
    }));
    expect(asked.hookTimeoutMs).toBe(2_000);
    expect(asked.breaker).toMatchObject({ failures: 2, coolDownMs: 9_000, recovery: "restart" });
  });

  it("names an ask beyond the policy as an excess (refused in refuse mode)", () => {
    const report = checkManifest(
      { schemaVersion: 1, defaults: { breaker: { failures: 4 } } },
      manifest({ limits: { breaker: { failures: 10 } } }),
    );
    expect(report.admitted).toBe(false);
    expect(report.excesses).toEqual([
      { field: "limits.breaker.failures", requested: 10, allowed: 4, clamp: "lowered" },
    ]);
  });

  it("refuses a schedule naming both a capability and a hook, or an undeclared hook", () => {
    const base = { cron: "* * * * *", name: "s" };
    expect(() => manifest({ schedules: [{ ...base, hook: "onSchedule" }] })).toThrow(
      /onSchedule hook, which this manifest's hooks do not declare/,
    );
    expect(() =>
      manifest({
        capabilities: { c: { export: "c" } },
        hooks: { onSchedule: "tick" },
        schedules: [{ ...base, hook: "onSchedule", capability: "c" }],
      })
    ).toThrow(/exactly one of capability and hook/);
  });
});
