/**
 * Worker restarts go through a host-wide gate (host/sandbox/restart-gate.ts):
 * the gate on a fake clock, and the pool asking it only for instances that
 * replace retired ones. No timing of the machine.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Instance, RunOutcome } from "../../host/sandbox/instance.ts";
import { InstancePool } from "../../host/sandbox/pool.ts";
import { RestartGate, SCORE_HALF_LIFE_MS } from "../../host/sandbox/restart-gate.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("restart gate", () => {
  it("lets the burst through at once, then one restart per 1/rate, in arrival order", async () => {
    vi.useFakeTimers();
    let now = 0;
    const gate = new RestartGate(2, 3, () => now);
    expect([gate.admit(), gate.admit(), gate.admit()]).toEqual([undefined, undefined, undefined]);
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) => gate.admit()!.then(() => order.push(n)));
    expect(gate.queued).toBe(3);
    for (const step of [499, 1]) {
      now += step;
      await vi.advanceTimersByTimeAsync(step);
    }
    // 500 ms at 2 a second: one token, to the first in line.
    expect(order).toEqual([1]);
    now += 1000;
    await vi.advanceTimersByTimeAsync(1000);
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
    expect(gate.queued).toBe(0);
  });

  it("gives the next turn to the plugin that restarted least lately, not the first in line", async () => {
    vi.useFakeTimers();
    let now = 0;
    const gate = new RestartGate(1, 2, () => now);
    const hostile = {};
    const quiet = {};
    // The hostile plugin spends the burst, then queues restart after restart.
    expect([gate.admit(hostile), gate.admit(hostile)]).toEqual([undefined, undefined]);
    const order: string[] = [];
    const waits = [1, 2, 3].map((n) => gate.admit(hostile)!.then(() => order.push(`hostile ${n}`)));
    // The quiet plugin needs one restart, after all of those.
    waits.push(gate.admit(quiet)!.then(() => order.push("quiet")));
    now += 1000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(order).toEqual(["quiet"]);
    for (let i = 0; i < 3; i++) {
      now += 1000;
      await vi.advanceTimersByTimeAsync(1000);
    }
    await Promise.all(waits);
    // Among the hostile plugin's own, arrival order.
    expect(order).toEqual(["quiet", "hostile 1", "hostile 2", "hostile 3"]);
    // Its count decays: halved every half-life.
    const before = gate.recent(hostile);
    now += SCORE_HALF_LIFE_MS;
    expect(gate.recent(hostile)).toBeCloseTo(before / 2);
    expect(gate.recent({})).toBe(0);
  });

  it("a restart pays for its stall: one that held the thread 30 ms owes two more tokens", async () => {
    vi.useFakeTimers();
    let now = 0;
    // 1 token a second, a burst of 4, 1% of the thread for starts: a token is worth 10 ms of stall.
    const gate = new RestartGate(1, 4, () => now, 0.01);
    expect([gate.extraFor(2), gate.extraFor(30), gate.extraFor(45)]).toEqual([0, 2, 3.5]);
    // A start code spinning on the host's thread for 2 s owes a burst more, not 199 tokens.
    expect(gate.extraFor(2000)).toBe(4);
    expect([gate.extraFor(Number.NaN), gate.extraFor(-5), gate.extraFor(0)]).toEqual([0, 0, 0]);
    const deno = {};
    // 4 tokens: the first restart passes (4 -> 3), holds the thread 30 ms (3 -> 1); the second
    // passes (1 -> 0) and holds 30 ms too (0 -> -2): the third waits for three seconds' refill.
    expect(gate.admit(deno)).toBeUndefined();
    gate.held(30, deno);
    expect(gate.admit(deno)).toBeUndefined();
    gate.held(30, deno);
    let admitted = false;
    const third = gate.admit(deno)!.then(() => (admitted = true));
    for (let second = 1; second <= 2; second++) {
      now += 1000;
      await vi.advanceTimersByTimeAsync(1000);
      expect(admitted).toBe(false); // -1, then 0 tokens
    }
    now += 1000;
    await vi.advanceTimersByTimeAsync(1000);
    await third;
    expect(admitted).toBe(true);
    // Its count of recent restarts grew by what it paid: 1 + 2 twice at 0 s, decayed, then 1.
    expect(gate.recent(deno)).toBeCloseTo(6 * 2 ** (-3000 / SCORE_HALF_LIFE_MS) + 1, 6);
  });

  it("a cheap restart (Node's ~2 ms) costs one token, as the gate's rate says", () => {
    vi.useFakeTimers();
    const now = 0;
    const gate = new RestartGate(1, 2, () => now, 0.01);
    expect(gate.admit()).toBeUndefined();
    gate.held(2);
    expect(gate.admit()).toBeUndefined();
    gate.held(2);
    expect(gate.admit()).toBeInstanceOf(Promise);
  });

  it("refills up to the burst while quiet", () => {
    let now = 0;
    const gate = new RestartGate(1, 2, () => now);
    gate.admit();
    gate.admit();
    now += 60_000;
    expect([gate.admit(), gate.admit()]).toEqual([undefined, undefined]);
    expect(gate.admit()).toBeInstanceOf(Promise);
  });
});

/** An instance that answers ok or fails (unhealthy) as told. */
function fakeInstance(healthy: () => boolean): Instance {
  return {
    calls: 0,
    run: (): Promise<RunOutcome> =>
      Promise.resolve({
        ok: true,
        output: new Uint8Array(),
        fuelUsed: 0,
        memoryPages: 1,
        healthy: healthy(),
      }),
    reset: () => true,
    close: () => Promise.resolve(),
  };
}

describe("instance pool restarts", () => {
  it("asks the gate only for instances that replace retired ones", async () => {
    let admits = 0;
    const gate = { admit: () => (admits++, undefined) };
    let fail = false;
    const pool = new InstancePool(
      () => Promise.resolve(fakeInstance(() => !fail)),
      { concurrency: 2, queue: 8, recycleAfter: 1000, restarts: gate },
      fakeInstance(() => !fail),
    );
    const run = () =>
      pool.use(async (instance) => {
        const outcome = await instance.run("x", new Uint8Array(), {} as never);
        return { value: outcome.ok, healthy: outcome.healthy };
      });
    // Two at once: the second instance is the pool growing, not a restart.
    await Promise.all([run(), run()]);
    expect(pool.created).toBe(2);
    expect(admits).toBe(0);
    // Both fail and are retired; the two made next are restarts.
    fail = true;
    await Promise.all([run(), run()]);
    fail = false;
    await Promise.all([run(), run()]);
    expect(pool.created).toBe(4);
    expect(admits).toBe(2);
  });

  it("a pool that replaces a closed one asks the gate for its first instance too", async () => {
    let admits = 0;
    const gate = { admit: () => (admits++, undefined) };
    const pool = new InstancePool(
      () => Promise.resolve(fakeInstance(() => true)),
      { concurrency: 1, queue: 8, recycleAfter: 1000, restarts: gate, replacing: true },
    );
    for (let i = 0; i < 3; i++) {
      await pool.use(async (instance) => ({
        value: await instance.run("x", new Uint8Array(), {} as never),
        healthy: true,
      }));
    }
    expect([pool.created, admits]).toEqual([1, 1]);
  });

  it("tells the gate how long each restart held the thread, and only restarts", async () => {
    const held: number[] = [];
    const gate = { admit: () => undefined, held: (ms: number) => held.push(ms) };
    let healthy = true;
    const pool = new InstancePool(
      async () => {
        await Promise.resolve();
        // A start that holds the thread 40 ms (as Deno's worker constructor does).
        const until = performance.now() + 40;
        while (performance.now() < until) { /* holding the thread */ }
        return fakeInstance(() => healthy);
      },
      { concurrency: 1, queue: 8, recycleAfter: 1000, restarts: gate },
    );
    const use = () =>
      pool.use(async (instance) => {
        const outcome = await instance.run("x", new Uint8Array(), {} as never);
        return { value: outcome.ok, healthy: outcome.healthy };
      });
    await use(); // the pool's first instance: not a restart, not measured
    expect(held).toEqual([]);
    healthy = false;
    await use(); // retires it
    healthy = true;
    await use(); // its replacement: a restart
    expect(held).toHaveLength(1);
    expect(held[0]).toBeGreaterThanOrEqual(38);
  });

  it("a restart waits for its turn, and a pool closed meanwhile makes nothing", async () => {
    let release!: () => void;
    const gate = { admit: () => new Promise<void>((resolve) => (release = resolve)) };
    let made = 0;
    const pool = new InstancePool(
      () => (made++, Promise.resolve(fakeInstance(() => true))),
      { concurrency: 1, queue: 8, recycleAfter: 1000, restarts: gate },
      fakeInstance(() => false),
    );
    const use = () =>
      pool.use(async (instance) => {
        const outcome = await instance.run("x", new Uint8Array(), {} as never);
        return { value: outcome.ok, healthy: outcome.healthy };
      });
    await use(); // retires the first instance
    const waiting = use();
    await Promise.resolve();
    expect(made).toBe(0);
    await pool.close();
    release();
    await expect(waiting).rejects.toThrow("closed");
    expect(made).toBe(0);
  });
});
