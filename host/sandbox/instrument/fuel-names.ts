/**
 * The names the meter gives what it adds, binaryen-free: the host's own
 * modules (worker-refuel.ts, worker-bulk.ts) need them on the path of every
 * load, where importing the meter would load binaryen (~325 ms in a new
 * process) for a plugin already in the module cache.
 * @module
 */

/** The export name of the fuel global. */
export const FUEL_EXPORT = "plughost_fuel";
/** The counter the metered code charges. */
export const GLOBAL = "plughost$fuel";
/** The exported copy of the counter, in step with GLOBAL whenever the host can look. */
export const EXPORTED = "plughost$fuel_export";
/**
 * What every charge calls once the counter is below zero: in the metered
 * module it traps (with the counter stored for the host to read); the worker
 * variant gives it a body that asks the host for the rest of the budget, a
 * slice at a time (worker-refuel.ts), so a long call in a worker can be paced.
 */
export const OUT_OF_FUEL = "plughost$out_of_fuel";
