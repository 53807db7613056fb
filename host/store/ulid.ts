/**
 * Monotonic ULIDs (https://github.com/ulid/spec): 48-bit millisecond time and
 * 80 random bits in Crockford base32, so ids sort by creation time. Within one
 * millisecond the random part is incremented, keeping ids of one process strictly
 * increasing even when the clock stands still or steps back.
 * @module
 */

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

let lastTime = -1;
const lastRandom = new Uint8Array(10);

/** Returns a new ULID, strictly greater than every ULID this process made before. */
export function ulid(now: number = Date.now()): string {
  if (now > lastTime) {
    lastTime = now;
    crypto.getRandomValues(lastRandom);
  } else {
    increment(lastRandom);
  }
  return encodeTime(lastTime) + encodeRandom(lastRandom);
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

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits = 16 base32 digits, taken 5 bits at a time from the big-endian bytes.
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

function increment(bytes: Uint8Array): void {
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] === 255) {
      bytes[i] = 0;
    } else {
      bytes[i] = bytes[i]! + 1;
      return;
    }
  }
  // 2^80 ids in one millisecond cannot happen; wrapping would break ordering, so say so.
  throw new Error("ULID random part overflowed within one millisecond");
}
