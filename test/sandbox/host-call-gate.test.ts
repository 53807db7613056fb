/**
 * The host thread's share for worker host calls (host/sandbox/host-call-gate.ts)
 * and the lower CPU priority of plugin worker threads
 * (host/adapter/thread-priority.ts). The gate runs on a fake clock and fake
 * timers; the priority is read back from /proc, not timed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import AsyncDatabase from "libsql/promise";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HostCallGate, hostCallGate } from "../../host/sandbox/host-call-gate.ts";
import { PLUGIN_THREAD_NICE } from "../../host/adapter/thread-priority.ts";
import { loadPlugin } from "../../host/sandbox/mod.ts";
import { fixture, utf8 } from "./fixtures.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("HostCallGate", () => {
  it("lets calls in while the bucket lasts, then one turn per refill, in arrival order", async () => {
    vi.useFakeTimers();
    let now = 0;
    const gate = new HostCallGate(0.25, 4, () => now);
    // A quiet loop: calls pass at once and spend their time.
    expect(gate.admit()).toBeUndefined();
    gate.settle(3);
    expect(gate.admit()).toBeUndefined();
    gate.settle(3); // the bucket is now 2 ms in debt
    const order: string[] = [];
    const a = gate.admit();
    const b = gate.admit();
    expect(a).toBeInstanceOf(Promise);
    expect(b).toBeInstanceOf(Promise);
    expect(gate.queued).toBe(2);
    void a!.then(() => order.push("a"));
    void b!.then(() => order.push("b"));
    // 2 ms of debt at a 25% share takes 8 ms of wall time to repay: nothing before that.
    now = 4;
    await vi.advanceTimersByTimeAsync(4);
    expect(order).toEqual([]);
    now = 9;
    await vi.advanceTimersByTimeAsync(5);
    // Repaid: the first in line goes; the second follows while the bucket is not in debt.
    expect(order[0]).toBe("a");
    gate.settle(1);
    now = 20;
    await vi.advanceTimersByTimeAsync(11);
    expect(order).toEqual(["a", "b"]);
    expect(gate.queued).toBe(0);
  });

  it("one very long host call does not hold other plugins' calls back for long: the debt is floored at one burst", () => {
    let now = 0;
    const gate = new HostCallGate(0.25, 4, () => now);
    expect(gate.admit()).toBeUndefined();
    gate.settle(500);
    expect(gate.admit()).toBeInstanceOf(Promise);
    // A 4 ms debt at a 25% share is repaid after 16 ms (plus the estimate), not after 2 s.
    const fresh = new HostCallGate(0.25, 4, () => now);
    expect(fresh.admit()).toBeUndefined();
    fresh.settle(500);
    now = 17;
    expect(fresh.admit()).toBeUndefined();
  });

  it("settle and spend return the debt the floor let go, for the plugin that ran it up", () => {
    const now = 0;
    const gate = new HostCallGate(0.25, 4, () => now);
    expect(gate.admit()).toBeUndefined(); // 4 - 0.2 estimate
    expect(gate.settle(2)).toBe(0); // 2 left: nothing floored
    expect(gate.spend(10)).toBe(4); // 2 - 10 = -8, floored at -4: 4 ms let go
    expect(gate.spend(1)).toBe(1);
  });

  it("a long host call is paid for before the next one runs", () => {
    const now = 0;
    const gate = new HostCallGate(0.25, 4, () => now);
    expect(gate.admit()).toBeUndefined();
    gate.settle(50);
    expect(gate.admit()).toBeInstanceOf(Promise);
  });

  it("a waiter that gives up leaves the queue: its turn goes to the next, not to nobody", async () => {
    vi.useFakeTimers();
    let now = 0;
    const gate = new HostCallGate(0.25, 4, () => now);
    expect(gate.admit()).toBeUndefined();
    gate.settle(4.2); // the bucket is empty
    let giveUp: () => void = () => {};
    const abandoned = gate.admit(() => new Promise<void>((resolve) => (giveUp = resolve)));
    const next = gate.admit();
    const order: string[] = [];
    void abandoned!.then(() => order.push("abandoned"));
    void next!.then(() => order.push("next"));
    expect(gate.queued).toBe(2);
    giveUp();
    await vi.advanceTimersByTimeAsync(0);
    expect(gate.queued).toBe(1);
    // One refill's worth of time: the turn goes to the one still waiting.
    now = 1;
    await vi.advanceTimersByTimeAsync(1);
    expect(order).toEqual(["next"]);
    expect(gate.queued).toBe(0);
  });
});

describe("worker host calls wait for the gate before Extism copies their blocks", () => {
  it("each host call of a worker plugin runs inside a turn given to its message", async () => {
    // block-flood makes a 2 MiB block before each host call: Extism brings it with the message.
    const inTurn: boolean[] = [];
    const plugin = await loadPlugin(fixture("block-flood"), {
      mode: "worker",
      concurrency: 1,
      limits: { memoryPages: 256 },
      hostFunctions: {
        probe: () => {
          inTurn.push(hostCallGate.turn !== null && hostCallGate.turn.entered !== null);
          return utf8('{"ok":true}');
        },
      },
    });
    try {
      const result = await plugin.call("times", new Uint8Array(2));
      expect(result.ok).toBe(true);
      expect(inTurn).toEqual([true, true, true, true]);
      expect(hostCallGate.turn).toBeNull();
    } finally {
      await plugin.close();
    }
  });
});

describe("an answer of Extism's own host-side functions for a call that ended", () => {
  /**
   * Runs http-once `calls` times with `fetch` behind it (each call times out at 100 ms), closes
   * the plugin, and gives the timers up to `waitMs` to go: the Timeout handles left over before.
   */
  async function timersLeft(fetch: typeof globalThis.fetch, calls: number, waitMs: number) {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    const plugin = await loadPlugin(fixture("http-once"), {
      mode: "worker",
      concurrency: 1,
      allowedHosts: ["example.com"],
      fetch,
      limits: { timeoutMs: 100 },
    });
    try {
      for (let i = 0; i < calls; i++) {
        const result = await plugin.call("run", new Uint8Array());
        expect(result.ok ? "ok" : result.error.class).toBe("timeout");
      }
    } finally {
      await plugin.close();
    }
    let left = timers() - before;
    for (let waited = 0; left > 0 && waited < waitMs; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = timers() - before; // the sleep's own timer has fired and is not counted
    }
    return left;
  }

  it("is dropped: no timer or blocks are left waiting for the stopped worker", async () => {
    // The fetch answers after the call's timeout: Extism's http_request then has no live call.
    const slowFetch: typeof fetch = () =>
      new Promise((resolve) => setTimeout(() => resolve(new Response("late")), 400));
    // Each late answer let go of Extism's wait (its 0 ms interval timer) once the fetch answered.
    expect(await timersLeft(slowFetch, 3, 10_000)).toBeLessThanOrEqual(0);
  }, 30_000);

  it("gives up on a fetch that never answers once its call has ended", async () => {
    const never: typeof fetch = () => new Promise<Response>(() => {});
    expect(await timersLeft(never, 2, 5_000)).toBeLessThanOrEqual(0);
  }, 30_000);
});

const linux = existsSync("/proc/self/task");

function niceOf(tid: string): number | null {
  try {
    // Field 19 of /proc/<tid>/stat, counted after the command name's closing parenthesis.
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[16]);
  } catch {
    return null;
  }
}

/** The scheduling policy of thread `tid` (field 41 of its stat: 0 normal, 5 SCHED_IDLE). */
function policyOf(tid: string): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[38]);
  } catch {
    return null;
  }
}

describe.skipIf(!linux)("plugin worker threads yield the CPU (Linux: /proc/self/task)", () => {
  it("a worker plugin's threads run at the plugin nice value; the host's thread keeps its own", async () => {
    const before = new Set(readdirSync("/proc/self/task"));
    const mainNice = niceOf(String(process.pid));
    const plugin = await loadPlugin(fixture("host-call-loop"), {
      mode: "worker",
      concurrency: 1,
      hostFunctions: { probe: () => utf8('{"ok":true}') },
    });
    try {
      const r = await plugin.call("times", new Uint8Array(3));
      expect(r.ok).toBe(true);
      const added = readdirSync("/proc/self/task").filter((t) => !before.has(t));
      const niced = added.filter((t) => niceOf(t) === PLUGIN_THREAD_NICE);
      expect(niced.length).toBeGreaterThan(0);
      expect(niceOf(String(process.pid))).toBe(mainNice);
      // Where util-linux's chrt exists they also go to SCHED_IDLE (policy 5), asynchronously.
      if (spawnSync("sh", ["-c", "command -v chrt"]).status === 0) {
        await vi.waitFor(() =>
          expect(niced.filter((t) => policyOf(t) === 5).length).toBeGreaterThan(0)
        );
      }
      expect(policyOf(String(process.pid))).toBe(0);
    } finally {
      await plugin.close();
    }
  });

  it("threads the host starts while or after plugin workers start keep the host's priority", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plughost-nice-"));
    const mainNice = niceOf(String(process.pid));
    const load = () =>
      loadPlugin(fixture("host-call-loop"), {
        mode: "worker",
        concurrency: 1,
        hostFunctions: { probe: () => utf8('{"ok":true}') },
      });
    // libSQL starts its runtime's threads at the first async exec: here while a worker starts,
    // and another worker starts after it (each start lowers the threads it sees appear).
    const db = new AsyncDatabase(join(dir, "nice.db"), {}) as unknown as {
      exec(sql: string): Promise<unknown>;
      close(): void;
    };
    const [first] = await Promise.all([
      load(),
      db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)"),
    ]);
    const second = await load();
    try {
      const pool = readdirSync("/proc/self/task").filter((t) =>
        readFileSync(`/proc/self/task/${t}/comm`, "utf8").startsWith("tokio-runtime")
      );
      expect(pool.length).toBeGreaterThan(0);
      for (const tid of pool) expect(niceOf(tid)).toBe(mainNice);
    } finally {
      db.close();
      await Promise.all([first.close(), second.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
