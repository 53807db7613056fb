/**
 * Strict runs in worker mode on a reset instance. The host cannot reach a
 * worker instance's memory or globals, so for a resettable module
 * (instrument/state.ts) the worker variant gets one more export,
 * `plughost_restore`: called through Extism with the instance's state right
 * after instantiation as its input ({@link restoreImage}), it zeroes the
 * memory, writes back the non-zero words and sets every exported mutable
 * global. Without it a strict call in a worker needed a new worker (~60-90 ms
 * where the call itself took ~1 ms), so a plugin moved to workers once ran
 * every strict call at that cost. Extism keeps vars (`var_set`) in the
 * worker, out of the host's reach: a module that imports `var_set` gets no
 * restore and keeps new workers. Added after metering: not metered.
 *
 * Input layout (little-endian u64s): the memory's size in pages (the call
 * traps when it differs: a grown memory cannot shrink; a module that keeps
 * its own size, instrument/virtual-memory.ts, traps only when the memory is
 * smaller), then two words per
 * exported mutable global in export order (the value as an integer, then as
 * float64 bits; the function takes the one its type reads), then runs of
 * words: a header (byte offset in the low 32 bits, byte length in the high
 * 32) followed by the run's bytes.
 * @module
 */
import type binaryenModule from "binaryen";
import { KERNEL_NAMESPACE } from "./imports.ts";
import { kernelImport } from "./worker-bulk.ts";
import { PAGE_BYTES } from "./page.ts";
import { MEMORY_PAGES_EXPORT, RESETTABLE_EXPORT } from "./reset.ts";

type Binaryen = typeof binaryenModule;
type Module = binaryenModule.Module;

/** The export added to the worker variant of a resettable module. */
export const RESTORE_EXPORT = "plughost_restore";

/** Memories this large would overflow the i32 byte count of the fill: such a module keeps new workers. */
const MAX_RESTORE_PAGES = 32_768;

/**
 * Adds `plughost_restore` when the module is resettable, has no `var_set`
 * import and only numeric mutable globals.
 */
export function addRestoreTo(binaryen: Binaryen, mod: Module): boolean {
  if (!mod.getExport(RESETTABLE_EXPORT)) return false;
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    if (info.module === KERNEL_NAMESPACE && info.base === "var_set") return false;
  }
  const { i32, i64, f32, f64, none } = binaryen;
  const globals: { name: string; type: number }[] = [];
  for (let i = 0; i < mod.getNumExports(); i++) {
    const info = binaryen.getExportInfo(mod.getExportByIndex(i));
    if (info.kind !== binaryen.ExternalGlobal) continue;
    const global = binaryen.getGlobalInfo(mod.getGlobal(info.value));
    if (!global.mutable) continue;
    if (![i32, i64, f32, f64].includes(global.type)) return false;
    globals.push({ name: global.name, type: global.type });
  }
  const declared = mod.getFeatures();
  mod.setFeatures(declared | binaryen.Features.BulkMemory);
  const c64 = (n: number | bigint) => mod.i64.const(BigInt(n) as unknown as number);
  const inputLength = kernelImport(binaryen, mod, "input_length", [], i64);
  const inputLoadU64 = kernelImport(binaryen, mod, "input_load_u64", [i64], i64);
  /** input_load_u64 at the position `at` (an i64 expression). */
  const load = (at: number) => mod.call(inputLoadU64, [at], i64);
  const local64 = (index: number) => mod.local.get(index, i64);
  // Locals: 0 input length, 1 read position, 2 run end (i64), 3 write address (i32).
  const setGlobal = ({ name, type }: { name: string; type: number }, at: number) => {
    const int = load(c64(at));
    const bits = load(c64(at + 8));
    const value = type === i32
      ? mod.i32.wrap(int)
      : type === i64
      ? int
      : type === f64
      ? mod.f64.reinterpret(bits)
      : mod.f32.demote(mod.f64.reinterpret(bits));
    return mod.global.set(name, value);
  };
  const body: number[] = [mod.local.set(0, mod.call(inputLength, [], i64))];
  // A module whose code sees a size of its own (instrument/virtual-memory.ts) can go back to
  // its first size in a memory that grew: only the image's pages are put back; the rest is
  // out of its code's reach until a grow hands it out again, zeroed.
  const sized = mod.getExport(MEMORY_PAGES_EXPORT) !== 0;
  const imagePages = () => mod.i32.wrap(load(c64(0)));
  if (mod.hasMemory()) {
    const mismatch = sized
      ? mod.i64.gt_u(load(c64(0)), mod.i64.extend_u(mod.memory.size()))
      : mod.i64.ne(load(c64(0)), mod.i64.extend_u(mod.memory.size()));
    body.push(
      mod.if(
        mod.i32.or(mismatch, mod.i32.ge_u(mod.memory.size(), mod.i32.const(MAX_RESTORE_PAGES))),
        mod.unreachable(),
      ),
    );
  }
  globals.forEach((g, i) => body.push(setGlobal(g, 8 + 16 * i)));
  if (mod.hasMemory()) {
    body.push(
      mod.memory.fill(
        mod.i32.const(0),
        mod.i32.const(0),
        mod.i32.mul(sized ? imagePages() : mod.memory.size(), mod.i32.const(PAGE_BYTES)),
      ),
      mod.local.set(1, c64(8 + 16 * globals.length)),
      mod.block("runs_done", [
        mod.loop(
          "runs",
          mod.block(null, [
            mod.br("runs_done", mod.i64.ge_u(local64(1), local64(0))),
            // Header: offset (low 32 bits), length (high 32 bits).
            mod.local.set(2, load(local64(1))),
            mod.local.set(3, mod.i32.wrap(local64(2))),
            mod.local.set(
              2,
              mod.i64.add(mod.i64.add(local64(1), c64(8)), mod.i64.shr_u(local64(2), c64(32))),
            ),
            mod.local.set(1, mod.i64.add(local64(1), c64(8))),
            mod.block("words_done", [
              mod.loop(
                "words",
                mod.block(null, [
                  mod.br("words_done", mod.i64.ge_u(local64(1), local64(2))),
                  mod.i64.store(0, 8, mod.local.get(3, i32), load(local64(1))),
                  mod.local.set(3, mod.i32.add(mod.local.get(3, i32), mod.i32.const(8))),
                  mod.local.set(1, mod.i64.add(local64(1), c64(8))),
                  mod.br("words"),
                ]),
              ),
            ]),
            mod.br("runs"),
          ]),
        ),
      ]),
    );
  }
  body.push(mod.i32.const(0));
  mod.addFunction(RESTORE_EXPORT, none, i32, [i64, i64, i64, i32], mod.block(null, body, i32));
  mod.addFunctionExport(RESTORE_EXPORT, RESTORE_EXPORT);
  mod.setFeatures(declared);
  return true;
}
