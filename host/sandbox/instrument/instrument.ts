/**
 * {@link instrument}: the one entry point that rewrites a module before
 * instantiation (memory cap, fuel metering, DWARF stripped).
 * @module
 */
import { HostError } from "../../errors.ts";
import { SectionId } from "../../artifact/mod.ts";
import { capMemories, capTables, rebuild, restoreCustomSections } from "./memory.ts";
import { meterModule } from "./meter.ts";
import { scanModule } from "./scan.ts";
import { pinWasiEntropy } from "./wasi-entropy.ts";
import { exposeState } from "./state.ts";
import { trackWrites } from "./dirty.ts";
import { virtualizeMemory } from "./virtual-memory.ts";
import { emit, read, tooDeep, WIDE_FEATURES } from "./binaryen-io.ts";
import {
  type InstrumentedModule,
  type InstrumentOptions,
  RESERVED_EXPORT_PREFIX,
} from "./types.ts";

/** Default initial fuel: bounds a start function to well under a second. */
export const DEFAULT_START_FUEL = 1_000_000_000n;
const MAX_FUEL = (1n << 63n) - 1n;
const MAX_PAGES = 65536;

function checkOptions(options: InstrumentOptions): void {
  const pages = options.memoryMaxPages;
  if (!Number.isInteger(pages) || pages < 1 || pages > MAX_PAGES) {
    throw new HostError(
      "usage",
      `memoryMaxPages must be an integer from 1 to ${MAX_PAGES} (64 KiB pages), got ${pages}`,
    );
  }
  const fuel = options.startFuel;
  if (fuel !== undefined && (typeof fuel !== "bigint" || fuel < 0n || fuel > MAX_FUEL)) {
    throw new HostError(
      "usage",
      `startFuel must be a bigint from 0 to 2^63-1, got ${String(fuel)}`,
    );
  }
}

/**
 * Refuses bytes the engine would not compile, saying which kind of wrong they are. Runs here,
 * on the instrumenter's thread where there is one: validating a large module takes the engine
 * milliseconds (15 ms for a 1.1 MB Haskell plugin) that would otherwise hold the host's loop.
 */
function assertValid(wasm: Uint8Array): void {
  if (WebAssembly.validate(wasm as BufferSource)) return;
  const header = wasm.length >= 4 && wasm[0] === 0 && wasm[1] === 0x61 && wasm[2] === 0x73 &&
    wasm[3] === 0x6d;
  if (!header) {
    throw new HostError(
      "load_error",
      "The file is not a WebAssembly module (no \\0asm header); pass a .wasm plugin file",
    );
  }
  let reason = "the engine rejected it";
  try {
    new WebAssembly.Module(wasm as BufferSource);
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error);
  }
  throw new HostError(
    "load_error",
    `The file is not a valid WebAssembly module (${reason}); rebuild the plugin`,
  );
}

export { RESERVED_EXPORT_PREFIX } from "./types.ts";

/**
 * Rewrites a module before instantiation: caps every memory at
 * `memoryMaxPages`, and (unless `meter: false`) injects fuel metering with an
 * exported i64 global `plughost_fuel`. The worker-mode form is made from the
 * result when a plugin needs it (worker-variant.ts). Custom sections (other
 * than DWARF) are kept; the result is deterministic for the same input and options.
 * Throws `HostError` `load_error` (invalid or refused module) or
 * `memory_limit` (initial memory above the cap).
 *
 * @example
 * ```ts
 * const { bytes, fuelGlobal } = instrument(wasm, { memoryMaxPages: 1024 });
 * const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
 * const fuel = instance.exports[fuelGlobal!] as WebAssembly.Global;
 * fuel.value = 1_000_000n; // budget; after a call, used = 1_000_000n - fuel.value
 * ```
 */
export function instrument(wasm: Uint8Array, options: InstrumentOptions): InstrumentedModule {
  checkOptions(options);
  assertValid(wasm);
  const cap = options.memoryMaxPages;
  const scan = scanModule(wasm);
  const first = scan.memories[0];
  const memorySection = scan.memories.length > 0 ? capMemories(scan.memories, cap) : null;
  const tableSection = scan.tables.length > 0 ? capTables(scan.tables) : null;
  const stripped = rebuild(
    wasm,
    scan.sections,
    memorySection,
    (name) => name.startsWith(".debug_"),
    tableSection,
  );
  const result: InstrumentedModule = {
    bytes: stripped,
    fuelGlobal: null,
    memoryMaxPages: first === undefined ? cap : Math.min(first.maximum ?? cap, cap),
    originalMemory: first === undefined ? null : { initial: first.initial, maximum: first.maximum },
  };
  // The host adds exports under this prefix and trusts what it finds there (the fuel, the
  // state a reset puts back, the worker's accessors): a module's own would fool it.
  const reserved = scan.exports.find((name) => name.startsWith(RESERVED_EXPORT_PREFIX));
  if (reserved !== undefined) {
    throw new HostError(
      "load_error",
      `The module already exports "${reserved}": names starting with "${RESERVED_EXPORT_PREFIX}" ` +
        `are reserved for the sandbox; rename that export`,
    );
  }
  if (options.meter === false) return result;
  const hasTargetFeatures = scan.sections.some((s) =>
    s.id === SectionId.custom && s.name === "target_features"
  );
  const m = read(stripped, "instrumentation");
  try {
    const declared = m.getFeatures();
    m.setFeatures(declared | WIDE_FEATURES);
    // Before metering: the pinned WASI functions are charged like the plugin's own code.
    pinWasiEntropy(m);
    const kinds = meterModule(m, options.startFuel ?? DEFAULT_START_FUEL, scan.importRefs);
    // After metering, so the meter's own globals are part of the state too.
    // Write tracking after both: it charges no fuel and is no state of the plugin's.
    // Then the memory's size as the code sees it, so a reset reaches a grown memory too.
    if (exposeState(m, scan.memories.length, kinds)) {
      trackWrites(m);
      virtualizeMemory(m, kinds);
    }
    // A target_features section is written back from the features: keep it as it was.
    if (hasTargetFeatures) m.setFeatures(declared);
    result.bytes = restoreCustomSections(stripped, emit(m));
  } catch (error) {
    throw tooDeep(error) ?? error;
  } finally {
    m.dispose();
  }
  result.fuelGlobal = "plughost_fuel";
  if (!WebAssembly.validate(result.bytes as BufferSource)) {
    throw new HostError(
      "load_error",
      "Instrumenting the module produced an invalid module (a host bug); report it with the plugin",
    );
  }
  return result;
}
