/**
 * The module instrumenter: caps memory and injects fuel metering before a
 * plugin is instantiated. See docs/metering.md.
 * @module
 */
export { DEFAULT_START_FUEL, instrument } from "./instrument.ts";
export { FUEL_EXPORT } from "./meter.ts";
export { workerVariant } from "./worker-variant.ts";
export type { InstrumentedModule, InstrumentOptions } from "./types.ts";
