/**
 * Reading and rewriting custom sections. Every other section keeps its exact
 * bytes and its place, so the code a module runs never changes.
 * @module
 */
import { concat } from "./bytes.ts";
import { encodeUleb } from "./leb128.ts";
import { parseModule, type Section, type WasmModule } from "./module.ts";

/** A custom section's name and data, with its index among all sections. */
export interface CustomSection {
  name: string;
  data: Uint8Array;
  /** Position among all sections of the module (0-based). */
  index: number;
}

/** Every custom section of a module, in file order. */
export function customSections(module: WasmModule): CustomSection[] {
  const out: CustomSection[] = [];
  module.sections.forEach((section, index) => {
    if (section.id === 0 && section.name !== undefined && section.dataStart !== undefined) {
      out.push({
        name: section.name,
        data: module.bytes.subarray(section.dataStart, section.end),
        index,
      });
    }
  });
  return out;
}

/** The data of every custom section called `name`, in file order. */
export function readCustomSections(wasm: Uint8Array, name: string): Uint8Array[] {
  return customSections(parseModule(wasm)).filter((s) => s.name === name).map((s) => s.data);
}

/** Encodes one custom section: id 0, size, name, data. */
export function encodeCustomSection(name: string, data: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const nameLength = encodeUleb(nameBytes.length);
  const payloadSize = nameLength.length + nameBytes.length + data.length;
  return concat([Uint8Array.of(0), encodeUleb(payloadSize), nameLength, nameBytes, data]);
}

/** A copy of the module keeping only the sections for which `keep` is true. */
export function filterSections(
  module: WasmModule,
  keep: (section: Section, index: number) => boolean,
): Uint8Array {
  const parts: Uint8Array[] = [module.bytes.subarray(0, 8)];
  module.sections.forEach((section, index) => {
    if (keep(section, index)) parts.push(module.bytes.subarray(section.start, section.end));
  });
  return concat(parts);
}

/** A copy of `wasm` without any custom section called `name`. */
export function removeCustomSections(wasm: Uint8Array, name: string): Uint8Array {
  return filterSections(parseModule(wasm), (s) => !(s.id === 0 && s.name === name));
}

/** A copy of `wasm` with a custom section appended at the end. */
export function appendCustomSection(wasm: Uint8Array, name: string, data: Uint8Array): Uint8Array {
  parseModule(wasm);
  return concat([wasm, encodeCustomSection(name, data)]);
}

/**
 * A copy of `wasm` where the custom sections called `name` are replaced by one
 * section holding `data`: in place of the first of them, or appended at the
 * end when there was none.
 */
export function setCustomSection(wasm: Uint8Array, name: string, data: Uint8Array): Uint8Array {
  const module = parseModule(wasm);
  const parts: Uint8Array[] = [wasm.subarray(0, 8)];
  let placed = false;
  for (const section of module.sections) {
    if (section.id === 0 && section.name === name) {
      if (!placed) parts.push(encodeCustomSection(name, data));
      placed = true;
    } else {
      parts.push(wasm.subarray(section.start, section.end));
    }
  }
  if (!placed) parts.push(encodeCustomSection(name, data));
  return concat(parts);
}
