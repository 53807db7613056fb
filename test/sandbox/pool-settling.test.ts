/**
 * An instance that still works after its answer (a worker dropping its
 * Extism blocks, host/sandbox/pool.ts `settling`): the caller has its value
 * at once and its slot is free, the instance serves no other call until the
 * work is over, a call that comes meanwhile waits for it rather than starting
 * another, one whose work fails is retired, and close() waits for it.
 * @module
 */
import { describe, expect, it } from "vitest";
import type { Instance, RunOutcome } from "../../host/sandbox/instance.ts";
import { InstancePool } from "../../host/sandbox/pool.ts";

function instance(): Instance & { closed: boolean } {
  return {
    calls: 0,
    closed: false,
    run: () => Promise.resolve({} as RunOutcome),
    reset: () => true,
    close() {
      this.closed = true;
      return Promise.resolve();
    },
  };
}

/** A pool of fake instances and the instances it made, in order. */
function poolOf(options: { concurrency: number; queue: number }): {
  pool: InstancePool;
  made: (Instance & { closed: boolean })[];
} {
  const made: (Instance & { closed: boolean })[] = [];
  const pool = new InstancePool(() => {
    const i = instance();
    made.push(i);
    return Promise.resolve(i);
  }, { ...options, recycleAfter: 1000 });
  return { pool, made };
}

/** A promise and the function that settles it. */
function later(): { promise: Promise<boolean>; settle: (fit: boolean) => void } {
  let settle: (fit: boolean) => void = () => {};
  const promise = new Promise<boolean>((resolve) => (settle = resolve));
  return { promise, settle };
}

describe("an instance settling after its answer", () => {
  it("answers at once, then serves the next call itself once settled", async () => {
    const { pool, made } = poolOf({ concurrency: 2, queue: 8 });
    const work = later();
    const used: Instance[] = [];
    const first = await pool.use((i) => {
      used.push(i);
      return Promise.resolve({ value: "one", healthy: true, settling: work.promise });
    });
    expect(first).toBe("one"); // before the work settled
    let secondDone = false;
    const second = pool.use((i) => {
      used.push(i);
      return Promise.resolve({ value: "two", healthy: true });
    }).then((v) => (secondDone = true, v));
    await new Promise((r) => setTimeout(r, 10));
    expect(secondDone).toBe(false); // waits for the settling instance, not a new one
    work.settle(true);
    expect(await second).toBe("two");
    expect(made.length).toBe(1);
    expect(used[1]).toBe(used[0]);
  });

  it("retires an instance whose work failed; the next call gets a new one", async () => {
    const { pool, made } = poolOf({ concurrency: 1, queue: 8 });
    const work = later();
    await pool.use(() => Promise.resolve({ value: 1, healthy: true, settling: work.promise }));
    const next = pool.use(() => Promise.resolve({ value: 2, healthy: true }));
    work.settle(false);
    expect(await next).toBe(2);
    expect(made.length).toBe(2);
    expect(made[0]!.closed).toBe(true);
  });

  it("frees its slot at the answer: a caller that calls again at once is not refused as busy", async () => {
    const { pool, made } = poolOf({ concurrency: 1, queue: 0 });
    const work = later();
    await pool.use(() => Promise.resolve({ value: 1, healthy: true, settling: work.promise }));
    // No queue, one slot: the slot is free again, and the call waits for the instance.
    const next = pool.use(() => Promise.resolve({ value: 2, healthy: true }));
    work.settle(true);
    expect(await next).toBe(2);
    expect(made.length).toBe(1);
  });

  it("close() resolves once a settling instance is closed, and a call waiting for it fails", async () => {
    const { pool, made } = poolOf({ concurrency: 2, queue: 8 });
    const work = later();
    await pool.use(() => Promise.resolve({ value: 1, healthy: true, settling: work.promise }));
    const waiting = pool.use(() => Promise.resolve({ value: 2, healthy: true }));
    await new Promise((r) => setTimeout(r, 5)); // it waits for the settling instance
    let closed = false;
    const closing = pool.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(closed).toBe(false);
    work.settle(true);
    await closing;
    expect(made.map((i) => i.closed)).toEqual([true]);
    await expect(waiting).rejects.toThrow(/closed/);
  });
});
