/**
 * Options and result of {@link instrument}, and the prefix of the exports it adds.
 * @module
 */

/**
 * Exports the sandbox adds (and reads back) all start with this; a module may not have its
 * own, and callers cannot name them (compile.ts leaves them out of a plugin's exports).
 */
export const RESERVED_EXPORT_PREFIX = "plughost_";

/** What to do to a module before it is instantiated. */
export interface InstrumentOptions {
  /** Cap for every memory's maximum, in 64 KiB pages (1..65536). */
  memoryMaxPages: number;
  /**
   * Initial value of the fuel global, which bounds the start function and
   * anything run before the host first sets the budget. Default 1e9.
   */
  startFuel?: bigint;
  /** Inject fuel metering (default true); false only caps memory. */
  meter?: boolean;
}

/** The rewritten module and what the host needs to drive it. */
export interface InstrumentedModule {
  /** The rewritten module, valid for `WebAssembly.compile`. */
  bytes: Uint8Array;
  /** Name of the exported i64 fuel global, or null when not metered. */
  fuelGlobal: "plughost_fuel" | null;
  /** The maximum the module's (first) memory can now reach, in pages: min(declared, cap). */
  memoryMaxPages: number;
  /** The first memory's limits as the module declared them, or null if it has none. */
  originalMemory: { initial: number; maximum: number | null } | null;
}
