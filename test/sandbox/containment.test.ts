/**
 * No plugin call holds the host's event loop: host calls cost fuel, a
 * main-thread call runs within a slice and moves to a worker past it. Proved
 * by state (host-call counts, fuel figures, timers that ran), never by timing.
 * See docs/sandbox.md ("Main-thread slices").
 */
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import {
  defaultSlice,
  HOST_BYTE_FUEL,
  HOST_FUNCTION_FUEL,
  loadPlugin,
  type SandboxedPlugin,
  type SandboxLogger,
  TIME_STRIKES,
} from "../../host/sandbox/mod.ts";
import { wat } from "../../host/sandbox/instrument/_testing.ts";
import {
  BULK_FILL_FUEL,
  fixture,
  HOST_CALL_TIMES_FUEL,
  spinningThreads,
  text,
  threadIds,
  utf8,
} from "./fixtures.ts";

const open: SandboxedPlugin[] = [];
afterAll(async () => {
  await Promise.all(open.map((p) => p.close()));
});
async function load(name: string, options: Parameters<typeof loadPlugin>[1] = {}) {
  const plugin = await loadPlugin(fixture(name), options);
  open.push(plugin);
  return plugin;
}
const none = new Uint8Array();
const answer = utf8('{"ok":true}');

/** A timer that counts its runs: it runs only while the event loop is free. */
function ticker() {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  return {
    get ticks() {
      return ticks;
    },
    stop: () => clearInterval(timer),
  };
}

function lines(): { logger: SandboxLogger; seen: string[] } {
  const seen: string[] = [];
  const push = (message: string) => void seen.push(message);
  return { logger: { trace: push, debug: push, info: push, warn: push, error: push }, seen };
}

describe("host-call loops", () => {
  it("on the main thread: cut at the slice, re-run in a worker to fuel_exhausted, timers ran meanwhile", async () => {
    const clock = ticker();
    const seen: number[] = [];
    let atReset = -1;
    const plugin = await load("host-call-loop", {
      // Worker host calls take ~1-2 ms each: a small slice and budget keep the test short.
      limits: { fuel: 5_000_000n, timeoutMs: 120_000 },
      slice: { fuel: 2_000_000n, ms: 600_000 },
      hostFunctions: { probe: () => (seen.push(clock.ticks), answer) },
      rerun: { reset: () => void (atReset = seen.length), final: new Set() },
    });
    expect(plugin.mode).toBe("main");
    const result = await plugin.call("run", none);
    clock.stop();
    expect(result.ok ? "ok" : result.error.class).toBe("fuel_exhausted");
    expect(result.usage.fuel).toBe(5_000_000);
    // The main-thread attempt made at most one slice's worth of host calls.
    expect(atReset).toBeGreaterThan(0);
    expect(atReset).toBeLessThanOrEqual(Number(2_000_000n / HOST_FUNCTION_FUEL));
    // The re-run's host calls saw the timer move: the event loop was free during the call.
    expect(seen.at(-1)!).toBeGreaterThan(seen[atReset]!);
    // The plugin runs in workers from now on.
    expect(plugin.mode).toBe("worker");
    expect((await plugin.call("noop", none)).ok).toBe(true);
  });

  for (const rerun of [undefined, { reset: () => {}, final: new Set(["probe"]) }]) {
    it(`${rerun ? "after a host function with a final effect" : "without a way to undo host-function effects"}, the call ends with timeout after one slice of host calls and is not re-run`, async () => {
      const counts: number[] = [];
      for (const _ of [1, 2]) {
        let calls = 0;
        const plugin = await load("host-call-loop", {
          limits: { fuel: 100_000_000n },
          hostFunctions: { probe: () => (calls++, answer) },
          ...(rerun ? { rerun } : {}),
        });
        const result = await plugin.call("run", none);
        expect(result.ok ? "ok" : result.error.class).toBe("timeout");
        if (!result.ok) expect(result.error.message).toContain("not re-run");
        expect(plugin.mode).toBe("worker");
        counts.push(calls);
      }
      // Held to the fuel slice alone (never the clock): the same count on any machine.
      expect(counts[0]).toBeGreaterThan(0);
      expect(counts[0]).toBeLessThanOrEqual(Number(defaultSlice.fuel / HOST_FUNCTION_FUEL));
      expect(counts[1]).toBe(counts[0]);
    });
  }

  it("past a final effect, host-side work fuel does not price is cut at the hold backstop", async () => {
    // 30,000 Extism allocs (~15 million fuel, within the slice), each summing every block Extism
    // holds: seconds of the host's thread if only fuel bounded the call.
    const plugin = await load("final-alloc", {
      limits: { fuel: 100_000_000n },
      hostFunctions: { pub: () => answer },
      rerun: { reset: () => {}, final: new Set(["pub"]) },
    });
    const result = await plugin.call("run", none);
    expect(result.ok ? "ok" : result.error.class).toBe("timeout");
    if (!result.ok) expect(result.error.message).toContain("not re-run");
    expect(plugin.mode).toBe("worker");
  });

  it("the hold backstop does not count the embedder's own host functions, however slow", async () => {
    // 60 final host calls of 12 ms each: ~720 ms of host functions, past the 500 ms backstop.
    let calls = 0;
    const slow = () => {
      calls++;
      const until = performance.now() + 12;
      while (performance.now() < until) { /* a synchronous host function that takes its time */ }
      return answer;
    };
    const plugin = await load("host-call-loop", {
      hostFunctions: { probe: slow },
      rerun: { reset: () => {}, final: new Set(["probe"]) },
    });
    const result = await plugin.call("times", new Uint8Array(60));
    expect(result.ok ? "ok" : result.error.message).toBe("ok");
    expect(calls).toBe(60);
    expect(plugin.mode).toBe("main");
  });

  it("start code that holds the host's thread in Extism's kernel past the backstop fails the load", async () => {
    for (const mode of ["main", "worker"] as const) {
      const error = await loadPlugin(fixture("start-alloc"), { mode }).catch((e) => e);
      expect(error.code).toBe("load_error");
      expect(error.message).toContain("start code held the host's thread");
    }
  });

  it("with a budget under the slice, the call stays on the main thread and ends with fuel_exhausted", async () => {
    let calls = 0;
    const plugin = await load("host-call-loop", {
      limits: { fuel: 2_000_000n },
      hostFunctions: { probe: () => (calls++, answer) },
    });
    const result = await plugin.call("run", none);
    expect(result.ok ? "ok" : result.error.class).toBe("fuel_exhausted");
    expect(result.usage.fuel).toBe(2_000_000);
    expect(calls).toBeLessThanOrEqual(Number(2_000_000n / HOST_FUNCTION_FUEL) + 1);
    expect(plugin.mode).toBe("main");
  });

  it("host-call fuel is the same on every run and in both modes, and grows by a fixed step per call", async () => {
    const figures: Record<string, number[]> = {};
    for (const mode of ["main", "worker"] as const) {
      const plugin = await load("host-call-loop", { mode, hostFunctions: { probe: () => answer } });
      figures[mode] = [];
      for (const n of [10, 20, 30, 10]) {
        const result = await plugin.call("times", new Uint8Array(n));
        expect(result.ok).toBe(true);
        if (result.ok) expect(text(result.output)).toBe('{"ok":true}');
        figures[mode]!.push(result.usage.fuel);
      }
    }
    const [f10, f20, f30, again] = figures.main!;
    expect(figures.worker).toEqual(figures.main);
    expect(again).toBe(f10);
    expect(f30! - f20!).toBe(f20! - f10!);
    // Each host call costs at least its base plus the bytes it moved (2 in, 11 out).
    const perCall = HOST_FUNCTION_FUEL + HOST_BYTE_FUEL * BigInt(2 + answer.byteLength);
    expect(BigInt(f20! - f10!)).toBeGreaterThanOrEqual(10n * perCall);
    // The same figure Deno gives (test/deno/sandbox.test.ts holds it too).
    expect(f10).toBe(HOST_CALL_TIMES_FUEL);
  });
});

describe("kernel-call loops and logs", () => {
  // Extism's var_get, config_get and log_* decode or copy a whole block on the host's thread;
  // they checked neither the slice nor the timeout, so this loop held the event loop until its
  // fuel ran out (a 1 MiB var, 2 s timeout: 37 s).
  it("a var_get loop over a 4 KiB var lets the event loop run: cut at its slice, ended in a worker", async () => {
    const plugin = await loadPlugin(
      wat(`(module
        (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
        (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
        (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
        (memory (export "memory") 1)
        (func (export "run") (result i32) (local $h i64)
          (local.set $h (call $alloc (i64.const 4096)))
          (call $var_set (local.get $h) (local.get $h))
          (loop $l (local.set $h (call $var_get (local.get $h))) (br $l))
          (i32.const 0)))`),
      { limits: { fuel: 1_000_000n, timeoutMs: 60_000 }, slice: { fuel: 10n ** 12n, ms: 5 } },
    );
    open.push(plugin);
    const ticks = ticker();
    let ticksAtEnd = 0;
    const result = await plugin.call("run", none).finally(() => (ticksAtEnd = ticks.ticks));
    ticks.stop();
    expect(result.ok ? "ok" : result.error.class).toBe("fuel_exhausted");
    // Timers ran while the call ran (before, none could until it returned).
    expect(ticksAtEnd).toBeGreaterThan(0);
  });

  it("an alloc/free loop is cut at its slice and ends in a worker with fuel_exhausted", async () => {
    // Fuel must end it, not the timeout: the re-run's worker is niced, and a busy machine
    // (a clean-clone CI with a core spinning) took over 10 s, the default timeout, for 10e6.
    const plugin = await load("kernel-call-loop", {
      limits: { fuel: 3_000_000n, timeoutMs: 120_000 },
      slice: { fuel: 1_000_000n, ms: 600_000 },
    });
    const result = await plugin.call("run", none);
    expect(result.ok ? "ok" : result.error.class).toBe("fuel_exhausted");
    expect(result.usage.fuel).toBe(3_000_000);
    expect(plugin.mode).toBe("worker");
  });

  it("a cut call's log lines are kept, and the re-run logs all of its own", async () => {
    const sliced = lines();
    const a = await load("kernel-call-loop", {
      limits: { fuel: 3_000_000n, timeoutMs: 120_000 },
      slice: { fuel: 1_000_000n, ms: 600_000 },
      logger: sliced.logger,
    });
    const whole = lines();
    const b = await load("kernel-call-loop", {
      mode: "worker",
      limits: { fuel: 3_000_000n, timeoutMs: 120_000 },
      logger: whole.logger,
    });
    const [ra, rb] = [await a.call("log", none), await b.call("log", none)];
    expect([ra.ok || ra.error.class, rb.ok || rb.error.class]).toEqual([
      "fuel_exhausted",
      "fuel_exhausted",
    ]);
    expect(whole.seen.length).toBeGreaterThan(0);
    // The first attempt's lines (fewer than a slice's worth), then exactly a whole run's.
    expect(sliced.seen.length).toBeGreaterThan(whole.seen.length);
    expect(sliced.seen.length).toBeLessThan(2 * whole.seen.length);
  });
});

describe("bulk memory operations", () => {
  it("a loop of 16 MiB memory.copy on the main thread ends with fuel_exhausted within a small budget", async () => {
    // Before plughost-instrument/4 each copy cost 1 fuel: 10,000 of them used 130,003 and returned ok.
    // Fuel must end it: a timeout that a loaded machine could reach first would flake.
    const plugin = await load("bulk-copy", { limits: { fuel: 5_000_000n, timeoutMs: 30_000 } });
    expect(plugin.mode).toBe("main");
    const result = await plugin.call("run", none);
    expect(result.ok ? "ok" : result.error.class).toBe("fuel_exhausted");
    expect(result.usage.fuel).toBe(5_000_000);
    expect(plugin.mode).toBe("main");
  });

  for (const mode of ["main", "worker"] as const) {
    it(`${mode}: one 16 MiB memory.fill costs its nodes plus 1 fuel per 64 bytes`, async () => {
      const plugin = await load("bulk-copy", { mode });
      const result = await plugin.call("fill", none);
      expect(result.ok).toBe(true);
      expect(result.usage.fuel).toBe(BULK_FILL_FUEL);
    });
  }
});

describe("memory-limit text", () => {
  for (const mode of ["main", "worker"] as const) {
    it(`${mode}: a plugin that logs Extism's memory-limit words does not end its call`, async () => {
      const log = lines();
      const plugin = await load("forged-memory-log", { mode, logger: log.logger });
      const result = await plugin.call("run", none);
      expect(result.ok ? text(result.output) : result.error.class).toBe("ok");
      expect(log.seen).toContain("memory limit exceeded: 99999 pages requested, 1 allowed");
    });
  }
});

/**
 * A host function slower than a 5 ms slice's wall time: what a loaded machine or a garbage
 * collection does to a well-behaved call.
 */
const slow = () => {
  const until = Date.now() + 15;
  while (Date.now() <= until) { /* longer than the slice, on any machine */ }
  return answer;
};

// Running out of the slice's fuel moves a plugin at once: "host-call loops" above.
describe("wall-time preemptions", () => {
  it(`a call past the slice's wall time re-runs in a worker; the plugin moves on the ${TIME_STRIKES}rd such call`, async () => {
    // One such call must not move the plugin for good.
    const plugin = await load("host-call", {
      hostFunctions: { probe: slow },
      slice: { ms: 5 },
      rerun: { reset: () => {}, final: new Set() },
    });
    for (let strike = 1; strike <= TIME_STRIKES; strike++) {
      const result = await plugin.call("run", none);
      expect(result.ok ? text(result.output) : result.error.message).toBe('{"ok":true}');
      expect(plugin.mode).toBe(strike < TIME_STRIKES ? "main" : "worker");
    }
  });
});

describe("standby workers", () => {
  it("the worker pool of a wall-time re-run closes once unused for the slice's standbyMs", async () => {
    const plugin = await load("host-call", {
      hostFunctions: { probe: slow },
      slice: { ms: 5, standbyMs: 50 },
      rerun: { reset: () => {}, final: new Set() },
    });
    expect(plugin.standby).toBe(false);
    for (let round = 0; round < 2; round++) {
      const result = await plugin.call("run", none);
      expect(result.ok ? text(result.output) : result.error.message).toBe('{"ok":true}');
      // Re-run in a worker, the plugin still on the main thread: the pool stays for a while...
      expect(plugin.mode).toBe("main");
      expect(plugin.standby).toBe(true);
      // ...and is closed when unused (a thread and an isolate each); the next re-run makes one.
      while (plugin.standby) await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
});

describe("memory growth on the main thread", () => {
  it("a call that reaches the memory cap moves the plugin to workers; its result stands", async () => {
    const plugin = await load("grow", { limits: { memoryPages: 64 } });
    expect(plugin.mode).toBe("main");
    const first = await plugin.call("run", none);
    expect(first.ok ? "ok" : first.error.class).toBe("memory_limit");
    expect(plugin.mode).toBe("worker");
    // In a worker the same call ends the same way, and the plugin stays usable.
    const second = await plugin.call("run", none);
    expect(second.ok ? "ok" : second.error.class).toBe("memory_limit");
  });

  it("so does a call whose Extism blocks reach the cap", async () => {
    const plugin = await load("alloc-loop", { limits: { memoryPages: 64 } });
    const result = await plugin.call("run", none);
    expect(result.ok ? "ok" : result.error.class).toBe("memory_limit");
    expect(plugin.mode).toBe("worker");
  });

  it("an instance whose memory grew past the slice's pages moves it after that call", async () => {
    const plugin = await load("stateful", { slice: { pages: 2 } });
    // `grow` adds one page per call; the instance keeps its state (best-effort) across calls.
    for (const expected of [[1, 1, 0], [2, 2, 1]]) {
      const result = await plugin.call("grow", none);
      expect(result.ok ? [...result.output] : result.error).toEqual(expected);
      expect(plugin.mode).toBe("main");
    }
    const third = await plugin.call("grow", none);
    expect(third.ok ? [...third.output] : third.error).toEqual([3, 3, 1]);
    expect(plugin.mode).toBe("worker");
  });

  it("growth within the slice's pages keeps it on the main thread; without a slice nothing moves", async () => {
    const within = await load("stateful");
    for (let i = 0; i < defaultSlice.pages; i++) {
      expect((await within.call("grow", none)).ok).toBe(true);
    }
    expect(within.mode).toBe("main");
    const unsliced = await load("grow", { limits: { memoryPages: 64 }, slice: false });
    const result = await unsliced.call("run", none);
    expect(result.ok ? "ok" : result.error.class).toBe("memory_limit");
    expect(unsliced.mode).toBe("main");
  });
});

describe("spinningThreads", () => {
  it("sees a thread that spins, and not once it has ended", async () => {
    const before = threadIds();
    const worker = new Worker("for (;;) {}", { eval: true });
    await new Promise((resolve) => worker.once("online", resolve));
    expect((await spinningThreads(before))?.length).toBe(1);
    await worker.terminate();
    expect(await spinningThreads(before)).toEqual([]);
  });
});
