/**
 * InstancePool.close({ interrupt: true }), the host closing: calls running on
 * instances that can be interrupted (workers) end at once, calls still being
 * given an instance (made, reset) fail without running, and close() resolves
 * only once all of them answered, a second close() too. Without `interrupt`
 * (an upgrade, an unload) a running call goes on to its own end.
 * @module
 */
import { describe, expect, it } from "vitest";
import type { SandboxAbort } from "../../host/sandbox/classify.ts";
import type { Instance, RunOutcome } from "../../host/sandbox/instance.ts";
import { InstancePool } from "../../host/sandbox/pool.ts";

type Fake = Instance & { calls: number; closed: boolean; ran: boolean; finish(): void };

function failure(code: string): RunOutcome {
  return {
    ok: false,
    error: { class: code, message: code },
    fuelUsed: 0,
    memoryPages: 0,
    healthy: false,
  } as RunOutcome;
}

/** A worker-like instance: its call runs until `finish` or `interrupt`; `answerAfter` delays that. */
function fake(answerAfter = 0): Fake {
  let end: (o: RunOutcome) => void = () => {};
  const ended = new Promise<RunOutcome>((resolve) => (end = resolve));
  return {
    calls: 0,
    closed: false,
    ran: false,
    run() {
      this.ran = true;
      return ended;
    },
    reset: () => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 30)),
    interrupt(reason: SandboxAbort) {
      setTimeout(() => end(failure(reason.code)), answerAfter);
    },
    finish: () => end(failure("timeout")),
    close() {
      this.closed = true;
      return Promise.resolve();
    },
  };
}

/** A pool of one slot holding `first`, making fakes after it. */
function poolWith(first: Fake): InstancePool {
  return new InstancePool(() => Promise.resolve(fake()), {
    concurrency: 1,
    queue: 0,
    recycleAfter: 1000,
  }, first);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A call through the pool: what it answered (an outcome's class, or a thrown error's code). */
function call(
  pool: InstancePool,
  fresh = false,
): { settled: () => boolean; answer: Promise<string> } {
  let settled = false;
  const answer = pool.use(
    async (i) => ({ value: await i.run("run", new Uint8Array(), {} as never), healthy: false }),
    fresh,
  ).then(
    (o) => (o.ok ? "ok" : o.error.class),
    (e: { code?: string }) => e.code ?? "thrown",
  ).finally(() => (settled = true));
  return { settled: () => settled, answer };
}

describe("InstancePool.close({ interrupt: true })", () => {
  it("ends a running call at once and resolves once it answered", async () => {
    const first = fake(50);
    const pool = poolWith(first);
    const c = call(pool);
    await sleep(5);
    await pool.close({ interrupt: true });
    expect(c.settled()).toBe(true);
    expect(await c.answer).toBe("not_ready");
    expect(first.closed).toBe(true);
  });

  it("waits for a call whose instance is being made; that call does not run", async () => {
    const made: Fake[] = [];
    const pool = new InstancePool(async () => {
      await sleep(50); // a worker's start
      const i = fake();
      made.push(i);
      return i;
    }, { concurrency: 2, queue: 0, recycleAfter: 1000 });
    const c = call(pool);
    await sleep(10);
    await pool.close({ interrupt: true });
    expect(c.settled()).toBe(true);
    expect(await c.answer).toBe("not_ready");
    expect(made.map((i) => [i.ran, i.closed])).toEqual([[false, true]]);
  });

  it("waits for a strict call whose instance is being reset; that call does not run", async () => {
    const first = fake();
    first.calls = 1;
    const pool = poolWith(first);
    const c = call(pool, true);
    await sleep(5); // its reset (30 ms) is under way
    await pool.close({ interrupt: true });
    expect(c.settled()).toBe(true);
    expect(await c.answer).toBe("not_ready");
    expect([first.ran, first.closed]).toEqual([false, true]);
  });

  it("a second close() also resolves only once the interrupted call answered", async () => {
    const pool = poolWith(fake(100));
    const c = call(pool);
    await sleep(5);
    const first = pool.close({ interrupt: true });
    await pool.close({ interrupt: true });
    expect(c.settled()).toBe(true);
    await first;
  });

  it("without interrupt (an upgrade, an unload) a running call goes on to its own end", async () => {
    const first = fake();
    const pool = poolWith(first);
    const c = call(pool);
    await sleep(5);
    await pool.close();
    expect(c.settled()).toBe(false);
    first.finish();
    expect(await c.answer).toBe("timeout");
    expect(first.closed).toBe(true);
  });
});
