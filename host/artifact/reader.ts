/**
 * A cursor over a section's payload, and the section-level helpers the
 * instrumenter needs (section ids, building a section, a custom section's
 * data), all on this folder's one reading of the binary format (module.ts,
 * leb128.ts), so the host reads WebAssembly in exactly one way.
 * @module
 */
import { encodeUleb, LebError, readUleb } from "./leb128.ts";
import { parseModule, type Section } from "./module.ts";

/** Ids of the sections the host looks into. */
export const SectionId = {
  custom: 0,
  type: 1,
  import: 2,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  tag: 13,
} as const;

const utf8 = new TextDecoder();

/** A cursor over bytes; throws `LebError` (a RangeError kind of failure) on a read past the end. */
export class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, start = 0, readonly end = bytes.length) {
    this.pos = start;
  }

  /** One byte. */
  byte(): number {
    if (this.pos >= this.end) throw new LebError(`unexpected end of data at offset ${this.pos}`);
    return this.bytes[this.pos++] as number;
  }

  /** An unsigned LEB128 number; up to 64 bits are accepted (memory64 limits), exact to 2^53. */
  u32(): number {
    const read = readUleb(this.bytes.subarray(0, this.end), this.pos, 64);
    this.pos = read.next;
    return read.value;
  }

  /** Skips a signed LEB128 number (s33 heap types, block types), whose value is not needed. */
  skipSigned(): void {
    for (let i = 0; i < 10; i++) {
      if ((this.byte() & 0x80) === 0) return;
    }
    throw new LebError(`LEB128 number too long at offset ${this.pos}`);
  }

  /** A length-prefixed UTF-8 name. */
  name(): string {
    const length = this.u32();
    if (this.pos + length > this.end) throw new LebError("name runs past the end of its section");
    const text = utf8.decode(this.bytes.subarray(this.pos, this.pos + length));
    this.pos += length;
    return text;
  }
}

/** The sections of a module, in file order (see parseModule for its errors). */
export function readSections(bytes: Uint8Array): Section[] {
  return parseModule(bytes).sections;
}

/** Builds a section: id, LEB128 size, payload. */
export function encodeSection(id: number, payload: Uint8Array | number[]): Uint8Array {
  const size = encodeUleb(payload.length);
  const out = new Uint8Array(1 + size.length + payload.length);
  out[0] = id;
  out.set(size, 1);
  out.set(payload, 1 + size.length);
  return out;
}

/** The data of a custom section, after its name. */
export function customContents(bytes: Uint8Array, section: Section): Uint8Array {
  return bytes.subarray(section.dataStart ?? section.payloadStart, section.end);
}
