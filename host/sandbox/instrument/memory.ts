/**
 * The memory cap: rewrites the memory section so that every memory's maximum
 * is at most the granted number of pages, which the engine then enforces
 * (`memory.grow` past it returns -1).
 * @module
 */
import { HostError } from "../../errors.ts";
import { concat, encodeSection, encodeU32, type Section, SectionId } from "./binary.ts";
import type { MemoryLimits } from "./scan.ts";

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

/**
 * Rebuilds the module from its sections: the memory section replaced by
 * `memorySection` (if given) and custom sections for which `dropCustom`
 * returns true left out.
 */
export function rebuild(
  bytes: Uint8Array,
  sections: Section[],
  memorySection: Uint8Array | null,
  dropCustom: (name: string) => boolean,
): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const section of sections) {
    if (section.id === SectionId.memory && memorySection !== null) parts.push(memorySection);
    else if (section.id === SectionId.custom && dropCustom(section.name ?? "")) continue;
    else parts.push(bytes.subarray(section.start, section.end));
  }
  return concat(parts);
}
