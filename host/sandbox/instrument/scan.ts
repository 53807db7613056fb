/**
 * Load-time checks on the raw binary, before binaryen sees it: the memories
 * the module defines or imports, and proposals the instrumenter refuses
 * (GC and typed references, exception handling, threads, memory64).
 * @module
 */
import { HostError } from "../../errors.ts";
import { Reader, readSections, type Section, SectionId } from "../../artifact/mod.ts";

/** Limits of one memory as declared in the binary. */
export interface MemoryLimits {
  flags: number;
  initial: number;
  maximum: number | null;
}

/** What the scan learnt about a module. */
export interface ScanResult {
  sections: Section[];
  /** Memories the module defines itself (memory section), in order. */
  memories: MemoryLimits[];
  /** Names of the module's exports. */
  exports: string[];
}

function refuse(what: string): never {
  throw new HostError(
    "load_error",
    `The module uses ${what}, which the sandbox cannot meter or cap; rebuild the plugin without it`,
  );
}

function readLimits(r: Reader, what: "memory" | "table"): MemoryLimits {
  const flags = r.byte();
  if (what === "memory") {
    if (flags & 0x02) refuse("a shared memory (threads proposal)");
    if (flags & 0x04) refuse("a 64-bit memory (memory64 proposal)");
    if (flags & ~0x01) refuse(`memory limits with flags 0x${flags.toString(16)}`);
  }
  const initial = r.u32();
  const maximum = flags & 0x01 ? r.u32() : null;
  return { flags, initial, maximum };
}

function readValType(r: Reader): void {
  const t = r.byte();
  if (t === 0x63 || t === 0x64) refuse("typed references (function-references or GC proposal)");
}

function scanTypes(r: Reader): void {
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const form = r.byte();
    if (form !== 0x60) refuse("GC types (struct, array or recursive type groups)");
    for (let side = 0; side < 2; side++) {
      const n = r.u32();
      for (let j = 0; j < n; j++) readValType(r);
    }
  }
}

function scanImports(r: Reader): void {
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const module = r.name();
    const name = r.name();
    const kind = r.byte();
    switch (kind) {
      case 0:
        r.u32();
        break;
      case 1:
        readValType(r);
        readLimits(r, "table");
        break;
      case 2:
        throw new HostError(
          "load_error",
          `The module imports its memory ("${module}"."${name}"), so the sandbox cannot cap it; ` +
            "build the plugin so that it defines its own memory",
        );
      case 3:
        readValType(r);
        r.byte();
        break;
      case 4:
        refuse("exception tags (exception-handling proposal)");
        break;
      default:
        throw new HostError("load_error", `The module has an import of unknown kind ${kind}`);
    }
  }
}

/** Scans a module that already passed `WebAssembly.validate`. Throws `load_error` on refusal. */
export function scanModule(bytes: Uint8Array): ScanResult {
  const sections = readSections(bytes);
  const memories: MemoryLimits[] = [];
  const exports: string[] = [];
  for (const section of sections) {
    const r = new Reader(bytes, section.payloadStart, section.end);
    if (section.id === SectionId.type) scanTypes(r);
    else if (section.id === SectionId.import) scanImports(r);
    else if (section.id === SectionId.tag) refuse("exception tags (exception-handling proposal)");
    else if (section.id === SectionId.memory) {
      const count = r.u32();
      for (let i = 0; i < count; i++) memories.push(readLimits(r, "memory"));
    } else if (section.id === SectionId.export) {
      const count = r.u32();
      for (let i = 0; i < count; i++) {
        exports.push(r.name());
        r.byte();
        r.u32();
      }
    }
  }
  return { sections, memories, exports };
}
