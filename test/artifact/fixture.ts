/**
 * Builds small, valid WebAssembly modules by hand for tests: one function
 * type `() -> ()`, the named function exports, a memory, and optional extra
 * custom sections.
 * @module
 */

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

/** Options for {@link buildModule}. */
export interface FixtureOptions {
  exports?: string[];
  memory?: { min: number; max?: number };
  /** Imported functions `env.NAME` of type () -> (). */
  imports?: string[];
  custom?: { name: string; data: Uint8Array }[];
}

/** A valid core module exporting functions that do nothing. */
export function buildModule(options: FixtureOptions = {}): Uint8Array {
  const exports = options.exports ?? ["greet", "on_load"];
  const imports = options.imports ?? [];
  const memory = options.memory ?? { min: 1, max: 16 };
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  bytes.push(...section(1, [1, 0x60, 0, 0]));
  if (imports.length > 0) {
    bytes.push(
      ...section(2, [
        ...uleb(imports.length),
        ...imports.flatMap((n) => [...name("env"), ...name(n), 0, 0]),
      ]),
    );
  }
  bytes.push(...section(3, [...uleb(exports.length), ...exports.map(() => 0)]));
  const limits = memory.max === undefined
    ? [0, ...uleb(memory.min)]
    : [1, ...uleb(memory.min), ...uleb(memory.max)];
  bytes.push(...section(5, [1, ...limits]));
  const exportEntries = exports.flatMap((n, i) => [...name(n), 0, ...uleb(imports.length + i)]);
  bytes.push(
    ...section(7, [...uleb(exports.length + 1), ...name("memory"), 2, 0, ...exportEntries]),
  );
  bytes.push(...section(10, [...uleb(exports.length), ...exports.flatMap(() => [2, 0, 0x0b])]));
  for (const c of options.custom ?? []) bytes.push(...section(0, [...name(c.name), ...c.data]));
  return Uint8Array.from(bytes);
}
