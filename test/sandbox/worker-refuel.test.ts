/**
 * Worker calls get their budget a slice at a time (host/sandbox/worker-refuel.ts):
 * the code asks the host for more each time its counter runs out, and the
 * host answers when the plugin-CPU bucket lets it. Fuel must stay that of
 * the main thread to the unit, whichever charge runs out (a region, the
 * meter's bulk-memory charge, a worker-side bulk copy).
 * @module
 */
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { availableParallelism } from "node:os";
import { loadPlugin, type SandboxedPlugin } from "../../host/sandbox/mod.ts";
import { HostCallGate } from "../../host/sandbox/host-call-gate.ts";
import {
  CallFuel,
  defaultWorkerCpuCores,
  pluginCpu,
  setWorkerCpuCores,
  WORKER_CPU_CORES,
  WORKER_SLICE_FUEL,
  workerCpuCores,
} from "../../host/sandbox/worker-refuel.ts";
import { HOST_FUNCTION_FUEL } from "../../host/sandbox/mod.ts";
import { wat } from "../../host/sandbox/instrument/_testing.ts";
import { fixture, utf8, withStopGrace } from "./fixtures.ts";

const open: SandboxedPlugin[] = [];
afterAll(async () => {
  await Promise.all(open.map((p) => p.close()));
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function load(
  name: string,
  mode: "main" | "worker",
  memoryPages = 64,
): Promise<SandboxedPlugin> {
  // No main-thread slice: the whole call stays on the main thread, for the figure to compare.
  const plugin = await loadPlugin(fixture(name), {
    mode,
    slice: false,
    limits: { fuel: 10_000_000_000n, memoryPages },
  });
  open.push(plugin);
  return plugin;
}

const cases = [
  { fixture: "cpu-heavy", export: "run", input: new Uint8Array(), what: "regions" },
  {
    fixture: "bulk-read-loop",
    export: "run",
    input: new Uint8Array(1 << 20).fill(7),
    what: "worker-side bulk copies",
  },
];

describe("worker calls past one slice of fuel", () => {
  for (const c of cases) {
    it(`use the main thread's fuel and run out at the same unit (${c.what})`, async () => {
      const main = await load(c.fixture, "main");
      const expected = await main.call(c.export, c.input);
      if (!expected.ok) throw new Error(expected.error.message);
      const fuel = expected.usage.fuel;
      expect(fuel).toBeGreaterThan(2 * Number(WORKER_SLICE_FUEL));
      const worker = await load(c.fixture, "worker");
      expect(worker.mode).toBe("worker");
      const refills = vi.spyOn(CallFuel.prototype, "refill");
      const full = await worker.call(c.export, c.input);
      expect(full.ok ? full.usage.fuel : full.error.message).toBe(fuel);
      // The code asked for the rest of its budget, a slice at a time.
      expect(refills.mock.calls.length).toBeGreaterThanOrEqual(2);
      for (const plugin of [main, worker]) {
        const short = await plugin.call(c.export, c.input, {}, { fuel: BigInt(fuel - 1) });
        expect(short.ok ? "ok" : [short.error.class, short.usage.fuel]).toEqual([
          "fuel_exhausted",
          fuel - 1,
        ]);
      }
      // Running out of the budget is a trap like any other: the worker was kept.
      const again = await worker.call(c.export, c.input);
      expect(again.ok ? again.usage.fuel : again.error.message).toBe(fuel);
      expect(worker.instances).toBe(1);
    });
  }

  it("charges the meter's bulk-memory charge past a slice as the main thread does", async () => {
    const budget = { fuel: 3n * WORKER_SLICE_FUEL + 12_345n };
    const seen = [];
    for (const mode of ["main", "worker"] as const) {
      const plugin = await load("bulk-copy", mode, 512);
      const out = await plugin.call("run", new Uint8Array(), {}, budget);
      seen.push(out.ok ? "ok" : [out.error.class, out.usage.fuel]);
    }
    expect(seen).toEqual([
      ["fuel_exhausted", Number(budget.fuel)],
      ["fuel_exhausted", Number(budget.fuel)],
    ]);
  });
});

describe("a worker call stopped at a host-function call", () => {
  const answer = utf8('{"ok":true}');

  it("past its timeout: the next host call answers the stop, the call ends timeout, the worker is kept", async () => {
    let calls = 0;
    // Long enough for the loop's next host call (one round trip), far too short for it to reach
    // its next request for fuel (a slice is ~39,000 of its host calls).
    await withStopGrace(2_000, async () => {
      const plugin = await loadPlugin(fixture("host-call-loop"), {
        mode: "worker",
        limits: { fuel: 1_000_000_000_000n, timeoutMs: 150 },
        hostFunctions: { probe: () => (calls++, answer) },
      });
      open.push(plugin);
      for (let i = 0; i < 3; i++) {
        const result = await plugin.call("run", new Uint8Array());
        expect(result.ok ? "ok" : result.error.class).toBe("timeout");
        const before = calls;
        // The instance was reset and serves the next call.
        const next = await plugin.call("times", new Uint8Array(3));
        expect(next.ok ? calls - before : next.error.message).toBe(3);
      }
      expect(plugin.instances).toBe(1);
    });
  });

  it("past its budget in host charges: fuel_exhausted, the host function not run, the worker kept", async () => {
    let calls = 0;
    // Module fuel of a few host calls, host charges of 20,000 each: the charges pass the budget.
    const budget = 10n * HOST_FUNCTION_FUEL;
    const plugin = await loadPlugin(fixture("host-call-loop"), {
      mode: "worker",
      limits: { fuel: budget },
      hostFunctions: { probe: () => (calls++, answer) },
    });
    open.push(plugin);
    for (let i = 0; i < 3; i++) {
      const before = calls;
      const result = await plugin.call("run", new Uint8Array());
      expect(result.ok ? "ok" : [result.error.class, result.usage.fuel]).toEqual([
        "fuel_exhausted",
        Number(budget),
      ]);
      // Each call ran the host function while its charges fit the budget, and no more.
      expect(calls - before).toBeLessThan(10);
    }
    expect(plugin.instances).toBe(1);
  });
});

describe("a worker call stopped while a host function ran", () => {
  it("drops the late answer, makes no Extism HTTP request after it, and keeps the worker", async () => {
    const fetches: string[] = [];
    // Long enough that the stop certainly comes first.
    await withStopGrace(5_000, async () => {
      const plugin = await loadPlugin(
        wat(`(module
          (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
          (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
          (import "extism:host/env" "http_request" (func $http (param i64 i64) (result i64)))
          (import "extism:host/user" "slow" (func $slow (param i64) (result i64)))
          (memory (export "memory") 1)
          (data (i32.const 0) "{\\"url\\":\\"https://example.com/\\"}")
          (func (export "run") (result i32)
            (local $req i64) (local $i i32)
            (local.set $req (call $alloc (i64.const 30)))
            (block $done (loop $copy
              (br_if $done (i32.ge_u (local.get $i) (i32.const 30)))
              (call $store_u8 (i64.add (local.get $req) (i64.extend_i32_u (local.get $i)))
                (i32.load8_u (local.get $i)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $copy)))
            ;; answers after the deadline; then the request must not go out
            (drop (call $slow (local.get $req)))
            (drop (call $http (local.get $req) (i64.const 0)))
            (i32.const 0)))`),
        {
          mode: "worker",
          allowedHosts: ["example.com"],
          fetch: ((url: string | URL | Request) => {
            fetches.push(String(url));
            return Promise.resolve(new Response("hi"));
          }) as typeof fetch,
          limits: { timeoutMs: 100 },
          hostFunctions: {
            slow: async () => {
              await new Promise((resolve) => setTimeout(resolve, 200));
              return utf8("{}");
            },
          },
        },
      );
      open.push(plugin);
      for (let i = 0; i < 2; i++) {
        const result = await plugin.call("run", new Uint8Array());
        expect(result.ok ? "ok" : result.error.class).toBe("timeout");
      }
      expect(fetches).toEqual([]);
      expect(plugin.instances).toBe(1);
    });
  });

  it("a module may name its own functions as the stop's wrapper once was (name collision)", async () => {
    const plugin = await loadPlugin(
      wat(`(module
        (import "extism:host/user" "probe" (func $probe (param i64) (result i64)))
        (func $probe$plughost_host (result i32) (i32.const 0))
        (func (export "run") (result i32) (call $probe$plughost_host)))`),
      { mode: "worker", hostFunctions: { probe: () => utf8("{}") } },
    );
    open.push(plugin);
    const result = await plugin.call("run", new Uint8Array());
    expect(result.ok ? "ok" : result.error.message).toBe("ok");
  });

  it("a module may name its own functions as the worker variant's kernel imports once were", async () => {
    // The variant's own kernel imports are under the reserved plughost$ prefix: these are the
    // module's functions, not taken for the kernel's, and the call runs as on the main thread.
    const bytes = wat(`(module
      (memory (export "memory") 1)
      (func $plughost_alloc (param i64) (result i64) (i64.const 7))
      (func $plughost_store_u64 (param i64 i64))
      (func $plughost_input_length (result i64) (i64.const 3))
      (func $plughost_bulk_alloc (param i64) (result i64) (i64.const 5))
      (func (export "run") (result i32)
        (call $plughost_store_u64 (i64.const 0) (i64.const 0))
        (i32.wrap_i64 (i64.add (call $plughost_alloc (i64.const 1))
          (i64.add (call $plughost_input_length) (call $plughost_bulk_alloc (i64.const 1)))))))`);
    const outcomes: unknown[] = [];
    for (const mode of ["main", "worker"] as const) {
      const plugin = await loadPlugin(bytes, { mode, slice: false });
      open.push(plugin);
      const result = await plugin.call("run", new Uint8Array());
      outcomes.push([result.ok ? "ok" : result.error.message, result.usage.fuel]);
    }
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect((outcomes[0] as unknown[])[0]).toBe("ok");
  });
});

describe("the plugin CPU share (host serve --plugin-cpu)", () => {
  it("refuses anything but a number of cores from the minimum, and new calls spend from the new bucket", () => {
    for (const bad of [0, -1, 0.01, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => setWorkerCpuCores(bad)).toThrow(/number of cores from 0.05/);
    }
    expect(workerCpuCores()).toBe(WORKER_CPU_CORES);
    const before = pluginCpu;
    try {
      setWorkerCpuCores(0.25);
      expect(workerCpuCores()).toBe(0.25);
      expect(pluginCpu).not.toBe(before);
      const spend = vi.spyOn(pluginCpu, "spend");
      new CallFuel(1_000n).end();
      expect(spend).toHaveBeenCalledTimes(1);
    } finally {
      setWorkerCpuCores(WORKER_CPU_CORES);
    }
  });

  it("by default leaves the host 1.5 cores, and plugins at least a quarter core", () => {
    expect([1, 2, 4, 8, 16].map(defaultWorkerCpuCores)).toEqual([0.25, 0.5, 2.5, 6.5, 14.5]);
    expect(WORKER_CPU_CORES).toBe(defaultWorkerCpuCores(availableParallelism()));
  });
});

describe("CallFuel", () => {
  /** A bucket whose turns the test hands out, and a clock it sets. */
  function setup(budget: bigint) {
    let t = 0;
    const spent: number[] = [];
    let release: (() => void) | null = null;
    const bucket = new HostCallGate(1, 100, () => t);
    vi.spyOn(bucket, "spend").mockImplementation((ms) => {
      spent.push(ms);
      return 0;
    });
    vi.spyOn(bucket, "admit").mockImplementation(() =>
      new Promise<void>((resolve) => (release = resolve))
    );
    const fuel = new CallFuel(budget, bucket, () => t);
    return {
      fuel,
      spent,
      tick: (ms: number) => (t += ms),
      release: () => release?.(),
    };
  }

  it("grants what brings the counter back to a slice, within the budget, once the bucket lets it", async () => {
    const budget = 2n * WORKER_SLICE_FUEL + 500n;
    const s = setup(budget);
    expect(s.fuel.granted).toBe(WORKER_SLICE_FUEL);
    s.tick(7);
    let answered: bigint | null = null;
    const first = s.fuel.refill(-300n).then((g) => (answered = g));
    await Promise.resolve();
    // The code ran 7 ms; no answer before the bucket's turn.
    expect(s.spent).toEqual([7]);
    expect(answered).toBeNull();
    s.release();
    await first;
    expect(answered).toBe(WORKER_SLICE_FUEL + 300n);
    // The rest of the budget only, then nothing.
    const second = s.fuel.refill(-10n);
    s.release();
    expect(await second).toBe(budget - WORKER_SLICE_FUEL - (WORKER_SLICE_FUEL + 300n));
    const third = s.fuel.refill(-1n);
    s.release();
    expect(await third).toBe(0n);
    expect(s.fuel.granted).toBe(budget);
    // What the code reports is read against the whole budget.
    expect(s.fuel.left(-1n)).toBe(-1n);
  });

  it("every call waits for its turn to start; a deadline first means no start", async () => {
    const s = setup(5_000n);
    let started: boolean | null = null;
    const waiting = s.fuel.start(Number.MAX_SAFE_INTEGER).then((ok) => (started = ok));
    await Promise.resolve();
    expect(started).toBeNull();
    s.release();
    await waiting;
    expect(started).toBe(true);
    const late = setup(5_000n);
    // Its deadline is now (the test's clock): the turn never came.
    expect(await late.fuel.start(0)).toBe(false);
  });

  it("a call that gives up waiting (deadline or stop) leaves the bucket's queue", async () => {
    const t = 0;
    const bucket = new HostCallGate(1, 100, () => t);
    bucket.settle(300); // in debt: every call waits
    const late = new CallFuel(5_000n, bucket, () => t);
    const stopped = new CallFuel(5_000n, bucket, () => t);
    const pending = stopped.start(Number.MAX_SAFE_INTEGER);
    expect(await late.start(0)).toBe(false);
    expect(bucket.queued).toBe(1);
    stopped.stop();
    expect(await pending).toBe(false);
    await Promise.resolve();
    expect(bucket.queued).toBe(0);
  });

  it("a spent budget is answered at once, without a turn; host-call time is not spent", async () => {
    const s = setup(WORKER_SLICE_FUEL);
    const admit = vi.spyOn(HostCallGate.prototype, "admit");
    s.tick(4);
    s.fuel.pause();
    s.tick(500); // blocked in a host call
    s.fuel.resume();
    s.tick(2);
    expect(await s.fuel.refill(-1n)).toBe(0n);
    expect(admit).not.toHaveBeenCalled();
    expect(s.spent).toEqual([4, 2]);
  });

  it("a budget under one slice is armed whole; an ended call is granted nothing and spent once", async () => {
    const s = setup(1_000n);
    expect(s.fuel.granted).toBe(1_000n);
    expect(s.fuel.left(400n)).toBe(400n);
    s.tick(3);
    s.fuel.end();
    s.fuel.end();
    expect(s.spent).toEqual([3]);
    const late = s.fuel.refill(-5n);
    s.release();
    expect(await late).toBe(0n);
  });
});
