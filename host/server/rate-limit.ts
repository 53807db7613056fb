/**
 * Token buckets, refilled continuously: one per token id (requests), and one
 * per client address (failed token checks). In memory, per server process,
 * at most `maxKeys` buckets: past it the least recently used bucket goes
 * (most likely refilled, so forgetting it changes nothing), never the whole
 * map, so a client cycling keys cannot reset everyone else's bucket.
 * @module
 */

/** Buckets kept by default (per limiter). */
export const DEFAULT_MAX_KEYS = 100_000;

/** Token buckets by key. `take` says whether a request may go, and if not, when to retry. */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  /** In use order, least recent first (a Map keeps insertion order; a use re-inserts). */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** `perSecond` average, `burst` at most at once; `perSecond` 0 allows everything. */
  constructor(perSecond: number, burst: number, maxKeys: number = DEFAULT_MAX_KEYS) {
    this.#rate = perSecond;
    this.#burst = Math.max(1, burst);
    this.#maxKeys = Math.max(1, maxKeys);
  }

  /** Buckets held now (at most `maxKeys`). */
  get size(): number {
    return this.#buckets.size;
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
      if (this.#buckets.size >= this.#maxKeys) {
        // The least recently used bucket: the first in the map.
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      bucket = { tokens: this.#burst, at: now };
    } else if (take) {
      // Moved to the end: recently used.
      this.#buckets.delete(key);
    }
    if (take) this.#buckets.set(key, bucket);
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      if (take) bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#rate));
  }
}
