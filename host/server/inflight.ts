/**
 * Capability calls in progress, by run id: graceful shutdown waits for them,
 * and what is still running after the grace period is marked interrupted.
 * @module
 */

/** The set of calls in progress. */
export class Inflight {
  readonly #runs = new Map<string, Promise<unknown>>();
  #idle: (() => void)[] = [];

  /** Number of calls in progress. */
  get size(): number {
    return this.#runs.size;
  }

  /** Run ids of the calls in progress. */
  ids(): string[] {
    return [...this.#runs.keys()];
  }

  /** Tracks a call until `work` settles; returns `work`. */
  track<T>(runId: string, work: Promise<T>): Promise<T> {
    this.#runs.set(runId, work);
    const done = () => {
      this.#runs.delete(runId);
      if (this.#runs.size === 0) { for (const wake of this.#idle.splice(0)) wake(); }
    };
    work.then(done, done);
    return work;
  }

  /** Resolves true when no call is in progress, or false after `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.#runs.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
