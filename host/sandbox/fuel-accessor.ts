/**
 * Worker mode cannot touch the instance's globals (the instance lives in
 * Extism's worker), so for that mode the host adds one tiny export to the
 * already-metered module: `plughost_fuel_swap`. Called through Extism like any
 * export, it outputs 16 bytes (fuel left as i64 LE, then memory pages as i64
 * LE) and, when given 8 input bytes, sets the fuel to that value. A module
 * with the pinned WASI entropy (entropy.ts) also takes 32 bytes: the fuel,
 * then the three entropy globals (switch, clock, generator state), as i64 LE.
 * The added function is not metered (it is added after instrumentation).
 * A call that returned reports its fuel itself (worker-report.ts); the host
 * swaps after a call without a report, and before a call whose budget the
 * report did not arm. The same step replaces the bulk-copy imports by worker-side copies
 * (worker-bulk.ts), charged as on the main thread.
 * @module
 */
import { ENTROPY_GLOBALS, type EntropyState } from "./entropy.ts";
import { inlineBulkIo, kernelImport, pagesSeen } from "./worker-bulk.ts";
import { ARM_PENDING } from "./worker-report.ts";

/** The export added for worker mode. */
export const FUEL_SWAP_EXPORT = "plughost_fuel_swap";

type Binaryen = typeof import("binaryen").default;
type BinaryenModule = InstanceType<Binaryen["Module"]>;

/**
 * Adds the accessor (and the worker-side bulk copies) to an open binaryen
 * module of a metered module; instrument/worker-variant.ts emits the result.
 */
export function addFuelAccessorTo(
  binaryen: Binaryen,
  mod: BinaryenModule,
  fuelExport: string,
): void {
  {
    // The added code needs only MVP features; keep the module's own set for emitting.
    const declared = mod.getFeatures();
    mod.setFeatures(declared | binaryen.Features.All);
    const fuel = binaryen.getExportInfo(mod.getExport(fuelExport)).value;
    const { i64, none } = binaryen;
    const kernel = (name: string, params: number[], result: number) =>
      kernelImport(binaryen, mod, name, params, result);
    const alloc = kernel("alloc", [i64], i64);
    const storeU64 = kernel("store_u64", [i64, i64], none);
    const inputLengthOf = kernel("input_length", [], i64);
    const inputLoadU64 = kernel("input_load_u64", [i64], i64);
    const outputSet = kernel("output_set", [i64, i64], none);
    // The bulk-copy imports become kernel copies that run in the worker (worker-bulk.ts).
    inlineBulkIo(binaryen, mod, fuel);
    const out = () => mod.local.get(0, i64);
    const inputLength = () => mod.call(inputLengthOf, [], i64);
    const load = (at: bigint) =>
      mod.call(inputLoadU64, [mod.i64.const(at as unknown as number)], i64);
    // A fuel set here replaces the one the last call's report armed (worker-report.ts).
    const pending = mod.getGlobal(ARM_PENDING) !== 0;
    const setFuel = () =>
      mod.block(null, [
        mod.global.set(fuel, load(0n)),
        ...(pending ? [mod.global.set(ARM_PENDING, mod.i32.const(0))] : []),
      ]);
    const setEntropy = mod.getExport(ENTROPY_GLOBALS.pinned)
      ? [mod.if(
        mod.i64.eq(inputLength(), mod.i64.const(32 as unknown as number)),
        mod.block(null, [
          setFuel(),
          mod.global.set(ENTROPY_GLOBALS.pinned, mod.i32.wrap(load(8n))),
          mod.global.set(ENTROPY_GLOBALS.clock, load(16n)),
          mod.global.set(ENTROPY_GLOBALS.rng, load(24n)),
        ]),
      )]
      : [];
    const pages = mod.hasMemory() ? mod.i64.extend_u(pagesSeen(binaryen, mod)) : mod.i64.const(0n);
    const body = mod.block(null, [
      mod.local.set(0, mod.call(alloc, [mod.i64.const(16n)], i64)),
      mod.call(storeU64, [out(), mod.global.get(fuel, i64)], none),
      mod.call(storeU64, [mod.i64.add(out(), mod.i64.const(8n)), pages], none),
      mod.if(
        mod.i64.eq(inputLength(), mod.i64.const(8n)),
        setFuel(),
      ),
      ...setEntropy,
      mod.call(outputSet, [out(), mod.i64.const(16n)], none),
      mod.i32.const(0),
    ]);
    mod.addFunction(FUEL_SWAP_EXPORT, none, binaryen.i32, [i64], body);
    mod.addFunctionExport(FUEL_SWAP_EXPORT, FUEL_SWAP_EXPORT);
    mod.setFeatures(declared);
  }
}

/** Encodes a fuel budget (8 bytes), and the entropy globals when given (32 bytes), as the accessor's input. */
export function encodeFuel(fuel: bigint, entropy?: EntropyState): Uint8Array {
  const bytes = new Uint8Array(entropy ? 32 : 8);
  const view = new DataView(bytes.buffer);
  view.setBigInt64(0, fuel, true);
  if (entropy) {
    view.setBigUint64(8, BigInt(entropy.pinned), true);
    view.setBigUint64(16, entropy.clock, true);
    view.setBigUint64(24, entropy.rng, true);
  }
  return bytes;
}

/** Decodes the accessor's output. */
export function decodeFuelReport(bytes: Uint8Array): { fuelLeft: bigint; memoryPages: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    fuelLeft: view.getBigInt64(0, true),
    memoryPages: Number(view.getBigInt64(8, true)),
  };
}
