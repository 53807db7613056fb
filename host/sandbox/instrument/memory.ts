/**
 * The memory cap: rewrites the memory section so that every memory's maximum
 * is at most the granted number of pages, which the engine then enforces
 * (`memory.grow` past it returns -1); and the table section likewise, every
 * table at most MAX_TABLE_ENTRIES entries (`table.grow` past it returns -1).
 * @module
 */
import { HostError } from "../../errors.ts";
import {
  concat,
  encodeSection,
  encodeUleb as encodeU32,
  readSections,
  type Section,
  SectionId,
} from "../../artifact/mod.ts";
import { MAX_TABLE_ENTRIES, type MemoryLimits, type TableLimits } from "./scan.ts";

/** The memory section with every maximum set to min(declared maximum, cap). */
export function capMemories(memories: MemoryLimits[], capPages: number): Uint8Array {
  const payload: number[] = [...encodeU32(memories.length)];
  memories.forEach((memory, index) => {
    if (memory.initial > capPages) {
      throw new HostError(
        "memory_limit",
        `Memory ${index} of the module starts at ${memory.initial} pages, above the cap of ` +
          `${capPages} pages (64 KiB each); grant more memory or shrink the plugin's initial memory`,
        { details: { initialPages: memory.initial, capPages } },
      );
    }
    const maximum = Math.min(memory.maximum ?? capPages, capPages);
    payload.push(0x01, ...encodeU32(memory.initial), ...encodeU32(maximum));
  });
  return encodeSection(SectionId.memory, payload);
}

/** The table section with every maximum set to min(declared maximum, MAX_TABLE_ENTRIES). */
export function capTables(tables: TableLimits[]): Uint8Array {
  const payload: number[] = [...encodeU32(tables.length)];
  for (const table of tables) {
    const maximum = Math.min(table.maximum ?? MAX_TABLE_ENTRIES, MAX_TABLE_ENTRIES);
    payload.push(table.refType, 0x01, ...encodeU32(table.initial), ...encodeU32(maximum));
  }
  return encodeSection(SectionId.table, payload);
}

/**
 * Rebuilds the module from its sections: the memory and table sections
 * replaced by the ones given (if any) and custom sections for which
 * `dropCustom` returns true left out.
 */
export function rebuild(
  bytes: Uint8Array,
  sections: Section[],
  memorySection: Uint8Array | null,
  dropCustom: (name: string) => boolean,
  tableSection: Uint8Array | null = null,
): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const section of sections) {
    if (section.id === SectionId.memory && memorySection !== null) parts.push(memorySection);
    else if (section.id === SectionId.table && tableSection !== null) parts.push(tableSection);
    else if (section.id === SectionId.custom && dropCustom(section.name ?? "")) continue;
    else parts.push(bytes.subarray(section.start, section.end));
  }
  return concat(parts);
}

/**
 * Puts back the exact bytes of custom sections that binaryen re-encoded
 * (`target_features`, `producers`): the n-th output section of a name gets
 * the n-th input section of that name. The name section is binaryen's own.
 */
export function restoreCustomSections(input: Uint8Array, output: Uint8Array): Uint8Array {
  const originals = new Map<string, Uint8Array[]>();
  for (const s of readSections(input)) {
    if (s.id !== SectionId.custom || s.name === "name") continue;
    const list = originals.get(s.name ?? "") ?? [];
    list.push(input.subarray(s.start, s.end));
    originals.set(s.name ?? "", list);
  }
  const seen = new Map<string, number>();
  const parts: Uint8Array[] = [output.subarray(0, 8)];
  let changed = false;
  for (const s of readSections(output)) {
    const own = output.subarray(s.start, s.end);
    if (s.id !== SectionId.custom || s.name === "name") {
      parts.push(own);
      continue;
    }
    const name = s.name ?? "";
    const index = seen.get(name) ?? 0;
    seen.set(name, index + 1);
    const original = originals.get(name)?.[index];
    if (original !== undefined && !sameBytes(original, own)) {
      parts.push(original);
      changed = true;
    } else parts.push(own);
  }
  return changed ? concat(parts) : output;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
