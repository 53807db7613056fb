/**
 * A minimal reader for the WebAssembly binary format: enough to list
 * sections, read LEB128 numbers and rebuild a module from sections. Used for
 * the checks and patches that must not go through binaryen (memory limits,
 * refused proposals, custom sections).
 * @module
 */

/** One top-level section of a module. `start` is the offset of its id byte. */
export interface Section {
  id: number;
  start: number;
  payloadStart: number;
  end: number;
  /** Custom sections (id 0) only: the section's name. */
  name?: string;
}

/** Section ids used here. */
export const SectionId = {
  custom: 0,
  type: 1,
  import: 2,
  memory: 5,
  export: 7,
  tag: 13,
} as const;

/** A cursor over bytes; throws `RangeError` on a read past the end. */
export class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, start = 0, readonly end = bytes.length) {
    this.pos = start;
  }

  byte(): number {
    if (this.pos >= this.end) throw new RangeError(`unexpected end of data at offset ${this.pos}`);
    return this.bytes[this.pos++] as number;
  }

  /** Unsigned LEB128 up to 64 bits, as a number (exact up to 2^53). */
  u32(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new RangeError(`LEB128 number too long at offset ${this.pos}`);
  }

  /** Signed LEB128 (s33 heap types, block types); only the length matters here. */
  skipSigned(): void {
    for (let i = 0; i < 10; i++) {
      if ((this.byte() & 0x80) === 0) return;
    }
    throw new RangeError(`LEB128 number too long at offset ${this.pos}`);
  }

  name(): string {
    const length = this.u32();
    if (this.pos + length > this.end) throw new RangeError("name runs past the end of its section");
    const text = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + length));
    this.pos += length;
    return text;
  }
}

/** Encodes an unsigned LEB128 number. */
export function encodeU32(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return out;
}

/** Lists the sections of a module whose header was already checked. */
export function readSections(bytes: Uint8Array): Section[] {
  const sections: Section[] = [];
  const r = new Reader(bytes, 8);
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const payloadStart = r.pos;
    const end = payloadStart + size;
    if (end > bytes.length) throw new RangeError(`section ${id} runs past the end of the module`);
    const section: Section = { id, start, payloadStart, end };
    if (id === SectionId.custom) section.name = new Reader(bytes, payloadStart, end).name();
    sections.push(section);
    r.pos = end;
  }
  return sections;
}

/** Builds a section (id, size, payload). */
export function encodeSection(id: number, payload: Uint8Array | number[]): Uint8Array {
  const size = encodeU32(payload.length);
  const out = new Uint8Array(1 + size.length + payload.length);
  out[0] = id;
  out.set(size, 1);
  out.set(payload, 1 + size.length);
  return out;
}

/** Joins byte pieces into one array. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The payload of a custom section after its name. */
export function customContents(bytes: Uint8Array, section: Section): Uint8Array {
  const r = new Reader(bytes, section.payloadStart, section.end);
  r.name();
  return bytes.subarray(r.pos, section.end);
}
