/**
 * The bulk-copy functions (bulk-io.ts) for worker mode, as WebAssembly added
 * to the worker's module. The host's thread cannot reach a worker instance's
 * linear memory, so there the `plughost_block_*` imports are replaced by
 * functions that copy through Extism's kernel (which runs in the worker) and
 * charge {@link bulkCopyFuel} on the exported fuel global, as the main-thread
 * functions charge it through the same global. A plugin therefore takes the
 * same path, and uses the same fuel, in both modes (docs/metering.md, "Host
 * calls"). Added after metering: only the explicit charge costs fuel, as on
 * the main thread (the call site's static host-call cost is in the plugin).
 * @module
 */
import type binaryenModule from "binaryen";
import { BULK_IO_FUNCTIONS } from "./bulk-io.ts";
import { KERNEL_NAMESPACE, USER_NAMESPACE } from "./imports.ts";
import { MEMORY_PAGES_EXPORT } from "./reset.ts";
import { BULK_COPY_BYTE_FUEL } from "./instrument/costs.ts";
import { GLOBAL, OUT_OF_FUEL } from "./instrument/fuel-names.ts";

type Binaryen = typeof binaryenModule;
type Module = binaryenModule.Module;

/**
 * An expression for the memory's size in pages as the module's code sees it:
 * its own global when it keeps one (instrument/virtual-memory.ts; a reset
 * instance's memory can be larger), else `memory.size`.
 */
export function pagesSeen(binaryen: Binaryen, mod: Module): number {
  const sizeExport = mod.getExport(MEMORY_PAGES_EXPORT);
  return sizeExport !== 0
    ? mod.global.get(binaryen.getExportInfo(sizeExport).value, binaryen.i32)
    : mod.memory.size();
}

/**
 * The internal name of the Extism kernel function `name` (`extism:host/env`)
 * in `mod`, imported the first time it is asked for. What the worker variant
 * adds (fuel-accessor.ts, worker-bulk.ts, worker-report.ts, worker-restore.ts)
 * shares these imports. The names are under the instrumenter's reserved
 * prefix: a module's own function cannot carry one (scan.ts), so none is
 * taken for the kernel's.
 */
export function kernelImport(
  binaryen: Binaryen,
  mod: Module,
  name: string,
  params: number[],
  result: number,
): string {
  const internal = `plughost$kernel_${name}`;
  if (mod.getFunction(internal) === 0) {
    mod.addFunctionImport(internal, KERNEL_NAMESPACE, name, binaryen.createType(params), result);
  }
  return internal;
}

/**
 * Replaces the module's bulk-copy imports (when it has them, with the ABI's
 * signature, and a memory) by kernel-copying functions that charge `fuel`.
 */
export function inlineBulkIo(binaryen: Binaryen, mod: Module, fuel: string): void {
  const kernel = (name: string, params: number[], result: number) =>
    kernelImport(binaryen, mod, name, params, result);
  if (!mod.hasMemory()) return;
  const { i32, i64, none } = binaryen;
  const found = new Map<string, string>();
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    const base = info.base;
    if (info.module !== USER_NAMESPACE || base === null || !BULK_IO_FUNCTIONS.includes(base)) {
      continue;
    }
    const params = binaryen.expandType(info.params);
    const ok = params.length === 2 && params.every((t) => t === i64) && info.results === i64;
    if (ok) found.set(base, info.name);
  }
  if (found.size === 0) return;
  const c64 = (n: number) => mod.i64.const(BigInt(n) as unknown as number);
  const local = (index: number) => mod.local.get(index, i64);
  const addr = (base: number, offset: number) =>
    mod.i32.wrap(mod.i64.add(local(base), local(offset)));
  /** Linear memory's size in bytes, as the module's code sees it. */
  const memoryBytes = () => mod.i64.shl(mod.i64.extend_u(pagesSeen(binaryen, mod)), c64(16));
  /**
   * Below zero: the metered code's handler, with the counter it reads (it traps, fuel_exhausted,
   * once the call's budget is spent; worker-refuel.ts). Here the live counter is the exported
   * copy (the call site copied it out, and copies it back after).
   */
  const outOfFuel = () =>
    mod.block(null, [
      mod.global.set(GLOBAL, mod.global.get(fuel, i64)),
      mod.call(OUT_OF_FUEL, [], none),
      mod.global.set(fuel, mod.global.get(GLOBAL, i64)),
    ]);
  /** The same charge as the main-thread functions', trapping (fuel_exhausted) below zero. */
  const charge = (bytes: number) =>
    mod.block(null, [
      mod.global.set(
        fuel,
        mod.i64.sub(mod.global.get(fuel, i64), mod.i64.mul(local(bytes), c64(BULK_COPY_BYTE_FUEL))),
      ),
      mod.if(mod.i64.lt_s(mod.global.get(fuel, i64), c64(0)), outOfFuel()),
    ]);
  /** A plugin bug (bytes outside linear memory): a trap, as on the main thread. */
  const outside = (at: number, n: number) =>
    mod.if(mod.i64.gt_u(mod.i64.add(local(at), local(n)), memoryBytes()), mod.unreachable());
  /** Copies 8 bytes at a time while they fit, then single bytes, over [0, n) with counter `i`. */
  const copyLoop = (id: string, n: number, i: number, word: number, byte: number) =>
    mod.block(null, [
      mod.local.set(i, c64(0)),
      mod.block(`${id}_words_done`, [
        mod.loop(
          `${id}_words`,
          mod.block(null, [
            mod.br(`${id}_words_done`, mod.i64.gt_u(mod.i64.add(local(i), c64(8)), local(n))),
            word,
            mod.local.set(i, mod.i64.add(local(i), c64(8))),
            mod.br(`${id}_words`),
          ]),
        ),
      ]),
      mod.block(`${id}_bytes_done`, [
        mod.loop(
          `${id}_bytes`,
          mod.block(null, [
            mod.br(`${id}_bytes_done`, mod.i64.ge_u(local(i), local(n))),
            byte,
            mod.local.set(i, mod.i64.add(local(i), c64(1))),
            mod.br(`${id}_bytes`),
          ]),
        ),
      ]),
    ]);
  const pair = binaryen.createType([i64, i64]);

  const read = found.get("plughost_block_read");
  if (read) {
    const length = kernel("length", [i64], i64);
    const loadU64 = kernel("load_u64", [i64], i64);
    const loadU8 = kernel("load_u8", [i64], i32);
    // params: handle 0, dst 1; locals: n 2, i 3
    const body = mod.block(null, [
      // Handle 0 is "no block": nothing to copy, nothing charged.
      mod.if(mod.i64.eqz(local(0)), mod.return(c64(0))),
      mod.local.set(2, mod.call(length, [local(0)], i64)),
      charge(2),
      outside(1, 2),
      copyLoop(
        "plughost_read",
        2,
        3,
        mod.i64.store(0, 1, addr(1, 3), mod.call(loadU64, [mod.i64.add(local(0), local(3))], i64)),
        mod.i32.store8(0, 1, addr(1, 3), mod.call(loadU8, [mod.i64.add(local(0), local(3))], i32)),
      ),
      mod.return(local(2)),
    ]);
    mod.removeFunction(read);
    mod.addFunction(read, pair, i64, [i64, i64], body);
  }

  const write = found.get("plughost_block_write");
  if (write) {
    const alloc = kernel("alloc", [i64], i64);
    const storeU64 = kernel("store_u64", [i64, i64], none);
    const storeU8 = kernel("store_u8", [i64, i32], none);
    // params: src 0, len 1; locals: handle 2, i 3
    const body = mod.block(null, [
      mod.if(mod.i64.gt_u(local(1), memoryBytes()), mod.unreachable()),
      charge(1),
      outside(0, 1),
      mod.local.set(2, mod.call(alloc, [local(1)], i64)),
      copyLoop(
        "plughost_write",
        1,
        3,
        mod.call(
          storeU64,
          [mod.i64.add(local(2), local(3)), mod.i64.load(0, 1, addr(0, 3))],
          none,
        ),
        mod.call(
          storeU8,
          [mod.i64.add(local(2), local(3)), mod.i32.load8_u(0, 1, addr(0, 3))],
          none,
        ),
      ),
      mod.return(local(2)),
    ]);
    mod.removeFunction(write);
    mod.addFunction(write, pair, i64, [i64, i64], body);
  }
}
