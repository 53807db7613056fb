/**
 * Monotonic ULIDs (https://github.com/ulid/spec): 48-bit millisecond time and
 * 80 random bits in Crockford base32, so ids sort by creation time. Within one
 * millisecond the random part is incremented, keeping ids of one process strictly
 * increasing even when the clock stands still or steps back.
 * @module
 */

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Every 10-bit value as its two base32 digits: 40 bits encode as four lookups. */
const PAIRS: readonly string[] = Array.from(
  { length: 1024 },
  (_, v) => ALPHABET[v >> 5]! + ALPHABET[v & 31]!,
);
const HALF = 2 ** 40;

let lastTime = -1;
// The 80 random bits as two 40-bit halves (exact in a double), and the text of
// everything but the low half: within one millisecond only the low half changes,
// so an id costs four table lookups instead of 26 string appends (ids are made
// per event, and that garbage showed in the events benchmark's profile).
let high = 0;
let low = 0;
let prefix = "";
// Random bytes fetched in bulk: on Node each getRandomValues call costs ~2 us whatever its size
// (its argument checks, then randomFillSync), and under load every id starts a new millisecond.
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let poolAt = POOL_BYTES;

/** The next 10 unused random bytes' offset in `pool` (each byte is handed out once). */
function seedAt(): number {
  if (poolAt + 10 > POOL_BYTES) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += 10;
  return at;
}

/** Drops the random bytes fetched so far: the next new millisecond fetches fresh ones (tests seed them). */
export function discardRandomPool(): void {
  poolAt = POOL_BYTES;
}

/** Returns a new ULID, strictly greater than every ULID this process made before. */
export function ulid(now: number = Date.now()): string {
  if (now > lastTime) {
    lastTime = now;
    const at = seedAt();
    high = read40(pool, at);
    low = read40(pool, at + 5);
    prefix = encodeTime(now) + encode40(high);
  } else if (low < HALF - 1) {
    low++;
  } else {
    // 2^80 ids in one millisecond cannot happen; wrapping would break ordering, so say so.
    if (high === HALF - 1) throw new Error("ULID random part overflowed within one millisecond");
    high++;
    low = 0;
    prefix = encodeTime(lastTime) + encode40(high);
  }
  return prefix + encode40(low);
}

/** The millisecond timestamp encoded in a ULID. */
export function ulidTime(id: string): number {
  let time = 0;
  for (const char of id.slice(0, 10)) time = time * 32 + ALPHABET.indexOf(char);
  return time;
}

/** The smallest ULID of a millisecond: ids `>=` it were made at or after `ms`. */
export function ulidFloor(ms: number): string {
  return encodeTime(ms) + "0".repeat(16);
}

function encodeTime(ms: number): string {
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

/** Five big-endian bytes as a number below 2^40. */
function read40(bytes: Uint8Array, at: number): number {
  let value = 0;
  for (let i = at; i < at + 5; i++) value = value * 256 + bytes[i]!;
  return value;
}

/** A number below 2^40 as eight base32 digits (big-endian, 5 bits each). */
function encode40(value: number): string {
  const top = Math.floor(value / 2 ** 20);
  const bottom = value % 2 ** 20;
  return PAIRS[top >> 10]! + PAIRS[top & 1023]! + PAIRS[bottom >> 10]! + PAIRS[bottom & 1023]!;
}
