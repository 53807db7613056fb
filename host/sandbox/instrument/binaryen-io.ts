/**
 * What reading and writing a module through binaryen needs in both passes
 * (instrument.ts, worker-variant.ts): the read that refuses with a
 * `load_error`, the features to emit with, the emit that keeps names, and the
 * error for code nested past binaryen's recursion.
 * @module
 */
import binaryen from "./binaryen.ts";
import { HostError } from "../../errors.ts";

// Features binaryen needs to write what V8 accepts; binaryen only uses them for
// encoding choices (e.g. the data count section for memory.init), never to refuse.
export const WIDE_FEATURES = binaryen.Features.MutableGlobals | binaryen.Features.SignExt |
  binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt |
  binaryen.Features.NontrappingFPToInt | binaryen.Features.SIMD128 |
  binaryen.Features.Multivalue | binaryen.Features.ReferenceTypes | binaryen.Features.TailCall |
  binaryen.Features.ExtendedConst | binaryen.Features.RelaxedSIMD | binaryen.Features.MultiMemory;

/** Reads `bytes` with binaryen, or throws a `load_error` naming `what` the read was for. */
export function read(bytes: Uint8Array, what: string): binaryen.Module {
  try {
    return binaryen.readBinary(bytes);
  } catch (error) {
    throw tooDeep(error) ?? new HostError(
      "load_error",
      `The module could not be read for ${what} (${String(error)})`,
      { cause: error },
    );
  }
}

/** The module's bytes, with its name section. */
export function emit(m: binaryen.Module): Uint8Array {
  const debug = binaryen.getDebugInfo();
  binaryen.setDebugInfo(true); // keeps the name section
  try {
    return m.emitBinary();
  } finally {
    binaryen.setDebugInfo(debug);
  }
}

/**
 * The error for a module whose code nests deeper than binaryen's recursion
 * reaches (several thousand levels; compilers emit up to a few thousand), or
 * undefined for any other error.
 */
export function tooDeep(error: unknown): HostError | undefined {
  if (!(error instanceof RangeError) || !/call stack/i.test(error.message)) return undefined;
  return new HostError(
    "load_error",
    "The module nests its code too deeply to be instrumented (the instrumenter ran out of " +
      "stack); rebuild it with optimizations or split the deepest function",
    { cause: error },
  );
}
