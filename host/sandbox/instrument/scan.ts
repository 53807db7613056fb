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

/** One table the module defines: its element type byte and limits. */
export interface TableLimits extends MemoryLimits {
  refType: number;
}

/**
 * At most this many tables, each of at most {@link MAX_TABLE_ENTRIES}
 * entries. A table lives in the engine's heap (V8: ~15 bytes an entry, on
 * the thread running the plugin, the host's own for a main-thread plugin),
 * outside the memory cap, and `table.grow` costs the same fuel whatever it
 * adds: uncapped, one grow of each of 30 tables ended the host's process out
 * of heap. Compilers emit one table of up to a few thousand entries
 * (GHC's hello: 3,894).
 */
export const MAX_TABLES = 4;
/** See {@link MAX_TABLES}: 65,536 entries, ~1 MiB of the engine's heap. */
export const MAX_TABLE_ENTRIES = 65_536;

/** What the scan learnt about a module. */
export interface ScanResult {
  sections: Section[];
  /** Memories the module defines itself (memory section), in order. */
  memories: MemoryLimits[];
  /** Tables the module defines itself (table section), in order. */
  tables: TableLimits[];
  /** Names of the module's exports. */
  exports: string[];
  /**
   * Whether an imported function can be taken as a reference (it is named in
   * an element segment of any kind, a global's initializer, or an export):
   * only then can a table hold it, and a `call_indirect` reach the host.
   * Binaryen drops declarative segments when it reads a module, so the meter
   * cannot see `(elem declare func $import)` + `table.set (ref.func $import)`.
   */
  importRefs: boolean;
}

function refuse(what: string): never {
  throw new HostError(
    "load_error",
    `The module uses ${what}, which the sandbox cannot meter or cap; rebuild the plugin without it`,
  );
}

function readLimits(r: Reader, what: "memory" | "table"): MemoryLimits {
  const flags = r.byte();
  if (what === "table" && flags & ~0x01) {
    refuse(`table limits with flags 0x${flags.toString(16)} (table64 or shared tables)`);
  }
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

/** Reads the import section; returns how many functions it imports. */
function scanImports(r: Reader): number {
  const count = r.u32();
  let functions = 0;
  for (let i = 0; i < count; i++) {
    const module = r.name();
    const name = r.name();
    const kind = r.byte();
    switch (kind) {
      case 0:
        r.u32();
        functions++;
        break;
      case 1:
        // Nothing provides one (Extism, the host), and an imported table could not be capped.
        throw new HostError(
          "load_error",
          `The module imports a table ("${module}"."${name}"), which the sandbox does not ` +
            "provide; build the plugin so that it defines its own tables",
        );
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
  return functions;
}

/**
 * The function indices a constant expression takes a reference to (`ref.func`),
 * or null for an opcode this reader does not know (the caller then assumes
 * the worst). Reads up to and including the expression's `end`.
 */
function constRefs(r: Reader): number[] | null {
  const refs: number[] = [];
  for (;;) {
    const op = r.byte();
    if (op === 0x0b) return refs; // end
    if (op === 0xd2) refs.push(r.u32()); // ref.func
    else if (op === 0x41 || op === 0x42) r.skipSigned(); // i32.const, i64.const
    else if (op === 0x43) r.pos += 4; // f32.const
    else if (op === 0x44) r.pos += 8; // f64.const
    else if (op === 0x23) r.u32(); // global.get
    else if (op === 0xd0) r.byte(); // ref.null
    else if (op >= 0x6a && op <= 0x6c) continue; // i32.add/sub/mul (extended-const)
    else if (op >= 0x7c && op <= 0x7e) continue; // i64.add/sub/mul
    else if (op === 0xfd && r.u32() === 12) r.pos += 16; // v128.const
    else return null;
  }
}

/** Whether the element section names a function below `imported` (an import). */
function elementsRefImport(r: Reader, imported: number): boolean {
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const flags = r.u32();
    if (flags > 7) return true;
    if ((flags & 0x03) === 0x02) r.u32(); // an explicit table index
    if ((flags & 0x01) === 0) {
      // Active: an offset expression.
      if (constRefs(r) === null) return true;
    }
    const exprs = (flags & 0x04) !== 0;
    // Flags 1-3 and 5-7 carry an element kind (0x00) or a reference type.
    if ((flags & 0x03) !== 0) r.byte();
    const n = r.u32();
    for (let j = 0; j < n; j++) {
      if (exprs) {
        const refs = constRefs(r);
        if (refs === null || refs.some((f) => f < imported)) return true;
      } else if (r.u32() < imported) return true;
    }
  }
  return false;
}

/** Whether a global's initializer takes a reference to a function below `imported`. */
function globalsRefImport(r: Reader, imported: number): boolean {
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    readValType(r);
    r.byte(); // mutability
    const refs = constRefs(r);
    if (refs === null || refs.some((f) => f < imported)) return true;
  }
  return false;
}

/** A table type: its element type, then limits (the form with an initializer expression is refused). */
function readTable(r: Reader): TableLimits {
  const refType = r.byte();
  if (refType === 0x40) refuse("a table with an initializer expression (function-references)");
  if (refType !== 0x70 && refType !== 0x6f) {
    refuse(`a table of element type 0x${refType.toString(16)}`);
  }
  return { refType, ...readLimits(r, "table") };
}

/** Prefix of the names the instrumenter gives what it adds (functions, globals): binaryen's own names. */
export const INTERNAL_NAME_PREFIX = "plughost$";

/**
 * The first function or global name in a name section's payload that uses
 * {@link INTERNAL_NAME_PREFIX}, or null. binaryen names the module's
 * functions and globals after this section, and the instrumenter's additions
 * would clash with such a name (the load failed with "[object Object]"). A
 * name section that does not parse is ignored, as engines ignore it.
 */
function internalNameIn(r: Reader): string | null {
  try {
    while (r.pos < r.end) {
      const id = r.byte();
      const end = r.u32() + r.pos;
      if (id === NAME_FUNCTIONS || id === NAME_GLOBALS) {
        const count = r.u32();
        for (let i = 0; i < count; i++) {
          r.u32();
          const name = r.name();
          if (name.startsWith(INTERNAL_NAME_PREFIX)) return name;
        }
      }
      r.pos = end;
    }
  } catch {
    return null;
  }
  return null;
}
/** Subsections of the name section: function names, global names. */
const NAME_FUNCTIONS = 1;
const NAME_GLOBALS = 7;

/** Scans a module that already passed `WebAssembly.validate`. Throws `load_error` on refusal. */
export function scanModule(bytes: Uint8Array): ScanResult {
  const sections = readSections(bytes);
  const memories: MemoryLimits[] = [];
  const tables: TableLimits[] = [];
  const exports: string[] = [];
  let importedFunctions = 0;
  let importRefs = false;
  for (const section of sections) {
    const r = new Reader(bytes, section.payloadStart, section.end);
    if (section.id === SectionId.type) scanTypes(r);
    else if (section.id === SectionId.import) importedFunctions = scanImports(r);
    else if (section.id === SectionId.element) {
      importRefs ||= importedFunctions > 0 && elementsRefImport(r, importedFunctions);
    } else if (section.id === SectionId.global) {
      importRefs ||= importedFunctions > 0 && globalsRefImport(r, importedFunctions);
    } else if (section.id === SectionId.tag) refuse("exception tags (exception-handling proposal)");
    else if (section.id === SectionId.table) {
      const count = r.u32();
      for (let i = 0; i < count; i++) tables.push(readTable(r));
    } else if (section.id === SectionId.memory) {
      const count = r.u32();
      for (let i = 0; i < count; i++) memories.push(readLimits(r, "memory"));
    } else if (section.id === SectionId.custom && section.name === "name") {
      const name = internalNameIn(new Reader(bytes, section.dataStart, section.end));
      if (name !== null) {
        throw new HostError(
          "load_error",
          `The module's name section names a function or global "${name}": names starting with ` +
            `"${INTERNAL_NAME_PREFIX}" are the sandbox's own; rename it, or build without the ` +
            "name section",
        );
      }
    } else if (section.id === SectionId.export) {
      const count = r.u32();
      for (let i = 0; i < count; i++) {
        exports.push(r.name());
        const kind = r.byte();
        if (r.u32() < importedFunctions && kind === 0) importRefs = true;
      }
    }
  }
  if (tables.length > MAX_TABLES) {
    throw new HostError(
      "load_error",
      `The module defines ${tables.length} tables, more than the ${MAX_TABLES} the sandbox ` +
        "allows (tables are outside the memory cap); build the plugin with fewer",
    );
  }
  tables.forEach((table, index) => {
    if (table.initial > MAX_TABLE_ENTRIES) {
      throw new HostError(
        "load_error",
        `Table ${index} of the module starts with ${table.initial} entries, more than the ` +
          `${MAX_TABLE_ENTRIES} the sandbox allows (tables are outside the memory cap)`,
      );
    }
  });
  return { sections, memories, tables, exports, importRefs };
}
