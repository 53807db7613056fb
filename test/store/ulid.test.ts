import { afterEach, describe, expect, it, vi } from "vitest";
import { discardRandomPool, ulid, ulidTime } from "../../host/store/ulid.ts";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** The spec's encoding, written plainly: 48-bit time, then 80 bits, 5 bits per digit. */
function reference(ms: number, bytes: readonly number[]): string {
  let time = "";
  for (let i = 0, t = ms; i < 10; i++, t = Math.floor(t / 32)) time = ALPHABET[t % 32] + time;
  let bits = "";
  for (const byte of bytes) bits += byte.toString(2).padStart(8, "0");
  let random = "";
  for (let i = 0; i < 80; i += 5) random += ALPHABET[parseInt(bits.slice(i, i + 5), 2)];
  return time + random;
}

/** Makes the next getRandomValues fill these bytes. */
function seed(bytes: readonly number[]): void {
  discardRandomPool();
  vi.spyOn(crypto, "getRandomValues").mockImplementationOnce(<T extends ArrayBufferView | null>(
    array: T,
  ): T => {
    (array as unknown as Uint8Array).set(bytes);
    return array;
  });
}

afterEach(() => vi.restoreAllMocks());

describe("ulid", () => {
  // First: the tests below leave the clock state far in the future.
  it("makes strictly increasing ids in a burst", () => {
    const ids = Array.from({ length: 5000 }, () => ulid());
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("takes each id's random bits from fresh bytes, across refills of the pool", () => {
    const fills = vi.spyOn(crypto, "getRandomValues");
    const ms = 3_000_000_000_000;
    // 1,000 new milliseconds use 10,000 random bytes: more than one fill of the pool.
    const ids = Array.from({ length: 1000 }, (_, i) => ulid(ms + i));
    expect(fills.mock.calls.length).toBeGreaterThan(1);
    expect(fills.mock.calls.length).toBeLessThan(10);
    const randoms = new Set(ids.map((id) => id.slice(10)));
    expect(randoms.size).toBe(ids.length);
    ids.forEach((id, i) => expect(ulidTime(id)).toBe(ms + i));
  });

  it("encodes time and randomness as the spec does, and counts up within a millisecond", () => {
    // Far in the future, so each test's first call starts a new millisecond.
    const ms = 4_000_000_000_000;
    const bytes = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x0f, 0xed];
    seed(bytes);
    const first = ulid(ms);
    expect(first).toBe(reference(ms, bytes));
    expect(ulidTime(first)).toBe(ms);
    expect(ulid(ms)).toBe(reference(ms, [...bytes.slice(0, 9), 0xee]));
    // A clock that steps back still counts up from the last id.
    expect(ulid(ms - 5)).toBe(reference(ms, [...bytes.slice(0, 9), 0xef]));
  });

  it("carries from the low 40 bits into the high ones, and refuses to wrap", () => {
    const ms = 4_000_000_000_100;
    seed([0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xfe]);
    expect(ulid(ms)).toBe(reference(ms, [0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xfe]));
    expect(ulid(ms)).toBe(reference(ms, [0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expect(ulid(ms)).toBe(reference(ms, [0, 0, 0, 0, 8, 0, 0, 0, 0, 0]));
    expect(ulid(ms)).toBe(reference(ms, [0, 0, 0, 0, 8, 0, 0, 0, 0, 1]));
    seed(Array(10).fill(0xff));
    expect(ulid(ms + 1)).toBe(reference(ms + 1, Array(10).fill(0xff)));
    expect(() => ulid(ms + 1)).toThrow(/overflowed/);
  });
});
