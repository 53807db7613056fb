/**
 * Unsigned LEB128, the variable-length integers of the WebAssembly binary
 * format. The spec allows non-minimal encodings (padding bytes), so the reader
 * accepts them; the writer always emits the minimal form.
 * @module
 */

/** A value read from a byte buffer and the offset just past it. */
export interface Read<T> {
  value: T;
  next: number;
}

/** Thrown for a LEB128 number that runs past the buffer or exceeds its bit width. */
export class LebError extends Error {
  override readonly name = "LebError";
}

/**
 * Reads an unsigned LEB128 integer of at most `bits` bits (32 by default, 64
 * for memory64 limits) starting at `offset`. Values above 2^53 are refused:
 * no limit we read can be that large in practice.
 */
export function readUleb(bytes: Uint8Array, offset: number, bits: 32 | 64 = 32): Read<number> {
  const maxBytes = Math.ceil(bits / 7);
  let result = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    const at = offset + i;
    const byte = bytes[at];
    if (byte === undefined) throw new LebError(`LEB128 number at offset ${offset} is truncated`);
    const low = byte & 0x7f;
    if (i === maxBytes - 1) {
      // The last allowed byte may only carry the bits that remain.
      const remaining = bits - 7 * i;
      if ((byte & 0x80) !== 0 || low >> remaining !== 0) {
        throw new LebError(`LEB128 number at offset ${offset} exceeds ${bits} bits`);
      }
    }
    result += low * scale;
    if (!Number.isSafeInteger(result)) {
      throw new LebError(`LEB128 number at offset ${offset} is too large`);
    }
    if ((byte & 0x80) === 0) return { value: result, next: at + 1 };
    scale *= 128;
  }
  throw new LebError(`LEB128 number at offset ${offset} exceeds ${bits} bits`);
}

/** Encodes a non-negative integer below 2^32 as minimal unsigned LEB128. */
export function encodeUleb(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`Cannot encode ${value} as u32 LEB128`);
  }
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return Uint8Array.from(out);
}
