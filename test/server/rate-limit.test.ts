/**
 * The rate limiter's bounded map: past `maxKeys` the least recently used
 * bucket goes, one at a time, so clients in use keep their (drained) buckets
 * while another client cycles keys.
 */
import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../host/server/rate-limit.ts";

describe("RateLimiter", () => {
  it("limits a key to its burst, then refills at its rate", () => {
    const limiter = new RateLimiter(1, 2);
    expect(limiter.take("a", 0)).toBe(0);
    expect(limiter.take("a", 0)).toBe(0);
    expect(limiter.take("a", 0)).toBe(1);
    expect(limiter.peek("a", 0)).toBe(1);
    expect(limiter.take("a", 1000)).toBe(0);
  });

  it("keeps a drained bucket in use while another client cycles new keys past the cap", () => {
    const limiter = new RateLimiter(1, 2, 3);
    limiter.take("victim", 0);
    limiter.take("victim", 0);
    expect(limiter.take("victim", 0)).toBeGreaterThan(0);
    for (let i = 0; i < 50; i++) {
      limiter.take(`cycler-${i}`, 0);
      expect(limiter.size).toBeLessThanOrEqual(3);
      // The victim retries now and then (each try is a use): its bucket stays drained,
      // where clearing the whole map at the cap would have handed it a fresh burst.
      if (i % 2 === 1) expect(limiter.take("victim", 0)).toBeGreaterThan(0);
    }
    expect(limiter.size).toBe(3);
  });

  it("evicts the least recently used bucket, one at a time", () => {
    const limiter = new RateLimiter(1, 1, 2);
    expect(limiter.take("a", 0)).toBe(0);
    expect(limiter.take("b", 0)).toBe(0);
    // a is used again (refused): b is now the least recently used.
    expect(limiter.take("a", 0)).toBe(1);
    expect(limiter.take("c", 0)).toBe(0);
    expect(limiter.size).toBe(2);
    // a kept its drained bucket; b was forgotten and starts with a full one.
    expect(limiter.peek("a", 0)).toBe(1);
    expect(limiter.take("b", 0)).toBe(0);
  });

  it("peek does not create buckets; rate 0 allows everything and keeps nothing", () => {
    const limiter = new RateLimiter(1, 1, 2);
    expect(limiter.peek("x", 0)).toBe(0);
    expect(limiter.size).toBe(0);
    const off = new RateLimiter(0, 1, 2);
    for (let i = 0; i < 10; i++) expect(off.take(`k${i}`, 0)).toBe(0);
    expect(off.size).toBe(0);
  });
});
