/**
 * What a module imports and exports and its memory limits, read from the
 * import, memory and export sections (enough for `host inspect` and for
 * checking a manifest against the module, without compiling it).
 * @module
 */
import { LebError, readUleb } from "./leb128.ts";
import { moduleError, parseModule, type Section, type WasmModule } from "./module.ts";

/** Kinds of imports and exports. */
export type ExternKind = "function" | "table" | "memory" | "global" | "tag";

/** Memory limits in 64 KiB pages. */
export interface MemoryLimits {
  min: number;
  max?: number;
  shared: boolean;
  memory64: boolean;
}

/** One import: module, name, kind; memory imports carry their limits. */
export interface ImportInfo {
  module: string;
  name: string;
  kind: ExternKind;
  memory?: MemoryLimits;
}

/** One export: name and kind. */
export interface ExportInfo {
  name: string;
  kind: ExternKind;
}

/** Imports, exports and memories (imported ones first, as the index space orders them). */
export interface ModuleInfo {
  imports: ImportInfo[];
  exports: ExportInfo[];
  memories: MemoryLimits[];
}

const kinds: ExternKind[] = ["function", "table", "memory", "global", "tag"];
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads the imports, exports and memories of a module (bytes or an already parsed module). */
export function moduleInfo(input: Uint8Array | WasmModule): ModuleInfo {
  const module = input instanceof Uint8Array ? parseModule(input) : input;
  const info: ModuleInfo = { imports: [], exports: [], memories: [] };
  try {
    for (const section of module.sections) {
      const reader = new Reader(module.bytes, section);
      if (section.id === 2) readImports(reader, info);
      else if (section.id === 5) reader.vec(() => info.memories.push(reader.limits()));
      else if (section.id === 7) {
        reader.vec(() => {
          const name = reader.name();
          const kind = reader.kind();
          reader.u32();
          info.exports.push({ name, kind });
        });
      }
    }
  } catch (error) {
    if (!(error instanceof LebError)) throw error;
    throw moduleError("malformed", `Malformed WebAssembly module: ${error.message}`);
  }
  return info;
}

function readImports(reader: Reader, info: ModuleInfo): void {
  reader.vec(() => {
    const module = reader.name();
    const name = reader.name();
    const kind = reader.kind();
    const entry: ImportInfo = { module, name, kind };
    if (kind === "function") reader.u32();
    else if (kind === "table") {
      reader.refType();
      reader.limits();
    } else if (kind === "memory") {
      entry.memory = reader.limits();
      info.memories.push(entry.memory);
    } else if (kind === "global") {
      reader.valType();
      reader.byte();
    } else {
      reader.byte();
      reader.u32();
    }
    info.imports.push(entry);
  });
}

/** A cursor over one section's payload; every read is bounds-checked. */
class Reader {
  private at: number;
  private readonly end: number;
  constructor(private readonly bytes: Uint8Array, section: Section) {
    this.at = section.payloadStart;
    this.end = section.end;
  }
  byte(): number {
    if (this.at >= this.end) throw new LebError(`section ends early at offset ${this.at}`);
    return this.bytes[this.at++] as number;
  }
  u32(): number {
    return this.uleb(32);
  }
  uleb(bits: 32 | 64): number {
    const read = readUleb(this.bytes, this.at, bits);
    if (read.next > this.end) throw new LebError(`number at offset ${this.at} crosses its section`);
    this.at = read.next;
    return read.value;
  }
  vec(each: () => void): void {
    const count = this.u32();
    for (let i = 0; i < count; i++) each();
  }
  name(): string {
    const length = this.u32();
    if (this.at + length > this.end) {
      throw new LebError(`name at offset ${this.at} crosses its section`);
    }
    const bytes = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    try {
      return utf8.decode(bytes);
    } catch {
      throw new LebError(`name at offset ${this.at - length} is not valid UTF-8`);
    }
  }
  kind(): ExternKind {
    const code = this.byte();
    const kind = kinds[code];
    if (kind === undefined) throw new LebError(`unknown import/export kind ${code}`);
    return kind;
  }
  limits(): MemoryLimits {
    const flags = this.byte();
    if (flags > 7) throw new LebError(`unknown limits flags ${flags}`);
    const memory64 = (flags & 4) !== 0;
    const bits = memory64 ? 64 : 32;
    const min = this.uleb(bits);
    const limits: MemoryLimits = { min, shared: (flags & 2) !== 0, memory64 };
    if ((flags & 1) !== 0) limits.max = this.uleb(bits);
    return limits;
  }
  /** Reference types: funcref/externref bytes, or (ref null? heaptype) from the GC proposal. */
  refType(): void {
    const code = this.byte();
    if (code === 0x63 || code === 0x64) this.heapType();
  }
  valType(): void {
    const code = this.byte();
    if (code === 0x63 || code === 0x64) this.heapType();
  }
  private heapType(): void {
    // A heap type is an abstract type byte (0x40..0x7f range, single byte) or a
    // signed LEB128 type index; both end at the first byte without the high bit.
    while ((this.byte() & 0x80) !== 0);
  }
}
