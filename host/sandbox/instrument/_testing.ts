/**
 * Test helpers for the instrumenter's tests (Node and Deno): assemble WAT
 * with wabt, instantiate, and run an export with a fuel budget.
 * @module
 */
import wabtInit from "wabt";

const wabt = await wabtInit();

/** wabt feature switches accepted by {@link wat}. */
export type WatFeatures = Record<string, boolean>;

/** Assembles a WAT module (with its name section) into bytes. */
export function wat(text: string, features: WatFeatures = {}): Uint8Array {
  const module = wabt.parseWat("test.wat", text, features);
  try {
    module.resolveNames();
    module.validate();
    return module.toBinary({ write_debug_names: true }).buffer;
  } finally {
    module.destroy();
  }
}

/** Instantiates bytes synchronously with the given imports. */
export function instantiate(
  bytes: Uint8Array,
  imports: WebAssembly.Imports = {},
): WebAssembly.Instance {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), imports);
}

/** The fuel global of an instrumented instance. */
export function fuelOf(instance: WebAssembly.Instance): WebAssembly.Global {
  const fuel = instance.exports.plughost_fuel;
  if (!(fuel instanceof WebAssembly.Global)) {
    throw new Error("instance has no plughost_fuel global");
  }
  return fuel;
}

/** Result of {@link metered}: the export's value (or its error) and the fuel it used. */
export interface Metered {
  value?: unknown;
  error?: unknown;
  used: bigint;
  left: bigint;
}

/** Calls an export with a fuel budget and reports the fuel it used. */
export function metered(
  instance: WebAssembly.Instance,
  name: string,
  budget: bigint,
  ...args: unknown[]
): Metered {
  const fuel = fuelOf(instance);
  const fn = instance.exports[name];
  if (typeof fn !== "function") throw new Error(`no export ${name}`);
  fuel.value = budget;
  try {
    const value = (fn as (...a: unknown[]) => unknown)(...args);
    return { value, used: budget - (fuel.value as bigint), left: fuel.value as bigint };
  } catch (error) {
    return { error, used: budget - (fuel.value as bigint), left: fuel.value as bigint };
  }
}
