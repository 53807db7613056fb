/**
 * Token buckets, refilled continuously: one per token id (requests), and one
 * per client address (failed token checks). In memory, per server process.
 * @module
 */

/** Token buckets by key. `take` says whether a request may go, and if not, when to retry. */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** `perSecond` average, `burst` at most at once; `perSecond` 0 allows everything. */
  constructor(perSecond: number, burst: number) {
    this.#rate = perSecond;
    this.#burst = Math.max(1, burst);
  }

  /** Takes one request from `key`'s bucket: 0 when allowed, else seconds to wait. */
  take(key: string, now: number = performance.now()): number {
    return this.#check(key, now, true);
  }

  /** Like `take`, without taking: 0 while `key` has a request left, else seconds to wait. */
  peek(key: string, now: number = performance.now()): number {
    return this.#check(key, now, false);
  }

  #check(key: string, now: number, take: boolean): number {
    if (this.#rate <= 0) return 0;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (!take) return 0;
      if (this.#buckets.size >= 100_000) this.#buckets.clear();
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      if (take) bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#rate));
  }
}
