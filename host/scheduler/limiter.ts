/**
 * Per-plugin limit on scheduled calls in flight. A plugin's sandbox pool
 * refuses calls past its instances and queue (`busy`); when many schedules of
 * one plugin fall on the same second, the scheduler queues the calls here
 * instead, and leaves the pool's queue to other callers (HTTP, invoke).
 * @module
 */

/** Runs tasks with at most `limit` of them in flight per key, the rest in arrival order. */
export class KeyedLimiter {
  readonly #limit: number;
  readonly #active = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();

  /** At most `limit` tasks per key at once. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Runs `task` once a slot for `key` is free. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    if ((this.#active.get(key) ?? 0) >= this.#limit) {
      await new Promise<void>((resolve) => {
        const queue = this.#waiting.get(key) ?? [];
        queue.push(resolve);
        this.#waiting.set(key, queue);
      });
    } else {
      this.#active.set(key, (this.#active.get(key) ?? 0) + 1);
    }
    try {
      return await task();
    } finally {
      // Hand the slot to the next waiter directly, else give it back.
      const next = this.#waiting.get(key)?.shift();
      if (next) next();
      else {
        const active = (this.#active.get(key) ?? 1) - 1;
        if (active === 0) this.#active.delete(key);
        else this.#active.set(key, active);
        this.#waiting.delete(key);
      }
    }
  }
}
