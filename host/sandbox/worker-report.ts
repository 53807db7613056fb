/**
 * A worker call's fuel report comes back with the call itself. The host
 * cannot read a worker instance's globals, so after every call it asked with
 * a second call, the fuel swap (fuel-accessor.ts): a round trip to the worker
 * that took ~155 us of a ~590 us worker call on this project's 2-core machine.
 *
 * The worker variant now wraps each export Extism may call: once the
 * plugin's code has returned, the wrapper allocates one more Extism block and
 * writes into it {@link REPORT_MAGIC}, the fuel left, the memory's pages and
 * the fuel the next call starts with unless the host sets another (the first
 * slice of a budget of at least a slice, worker-refuel.ts). Extism's worker
 * sends the blocks a call made back in its return message;
 * {@link watchCallReports} takes the report from there before Extism's own
 * handler runs. The fuel itself is set at the next call's entry, not at this
 * one's exit, so that a swap after a call whose report the host did not get
 * still reads the fuel that call left (a swap that sets the fuel cancels the
 * pending one: fuel-accessor.ts).
 *
 * Why it can be trusted: it is read only for a call of a wrapped export
 * ({@link REPORTS_PREFIX}), and Extism numbers blocks in the order they are made
 * and never reuses a number within a call, and the wrapper's block is the
 * last thing the call makes, after all of the plugin's code. So the report is
 * read only from the highest-numbered block of the return, and only when it
 * has the report's exact size and magic: a block the plugin forged comes
 * before it. A call that trapped is never read (the wrapper did not run, and
 * the last block may be the plugin's), nor is a block Extism refused to make
 * (left zero); the host then asks with the swap as before. Added after
 * metering: not metered.
 * @module
 */
import type binaryenModule from "binaryen";
import type { Plugin } from "@extism/extism";
import { kernelImport } from "./worker-bulk.ts";

type Binaryen = typeof binaryenModule;
type Module = binaryenModule.Module;

/** "plughost" as a little-endian u64: the first word of a report block. */
export const REPORT_MAGIC = 0x74736f6867756c70n;

/** The report block: magic, fuel left, memory pages, fuel armed for the next call (u64 LE each). */
export const REPORT_BYTES = 32;

/** What a call's report says. */
export interface CallReport {
  fuelLeft: bigint;
  memoryPages: number;
  /** The fuel the instance holds for its next call. */
  armed: bigint;
}

/**
 * Each wrapped export is exported a second time under this prefix: the host
 * reads a report only for a call of such an export. The names are the
 * sandbox's (a module exporting `plughost_...` itself is refused, types.ts),
 * so a plugin cannot claim an export of its own reports: an export that is not
 * wrapped (one with parameters or several results, or a start-up export
 * called as a call) could otherwise end with a forged report of its making.
 */
export const REPORTS_PREFIX = "plughost_reports:";

/** Set when a report armed the next call's fuel; that call's entry sets it (i32, not exported). */
export const ARM_PENDING = "plughost$arm_pending";

/** Exports Extism runs at instantiation, not as calls: not wrapped. */
const NOT_CALLS = new Set(["_start", "_initialize", "hs_init"]);

/**
 * Wraps every parameterless function export of `mod` (but the sandbox's own,
 * `plughost_*`, and start-up exports) so it reports as described above.
 * `fuel` is the exported fuel global's name, `pages` an expression builder for
 * the memory's pages (an i32; not called for a module without memory),
 * `armed` the fuel to arm. Adds {@link ARM_PENDING}, which the fuel accessor
 * clears, so it runs before the accessor is added.
 */
export function addCallReportsTo(
  binaryen: Binaryen,
  mod: Module,
  fuel: string,
  pages: () => number,
  armed: bigint,
): void {
  const { i32, i64, none } = binaryen;
  const c64 = (value: bigint) => mod.i64.const(value as unknown as number);
  mod.addGlobal(ARM_PENDING, i32, true, mod.i32.const(0));
  const alloc = kernelImport(binaryen, mod, "alloc", [i64], i64);
  const storeU64 = kernelImport(binaryen, mod, "store_u64", [i64, i64], none);
  const exports = Array.from(
    { length: mod.getNumExports() },
    (_, i) => binaryen.getExportInfo(mod.getExportByIndex(i)),
  ).filter((e) =>
    e.kind === binaryen.ExternalFunction && !e.name.startsWith("plughost_") &&
    !NOT_CALLS.has(e.name)
  );
  const wrappers = new Map<string, string>();
  for (const e of exports) {
    const target = binaryen.getFunctionInfo(mod.getFunction(e.value));
    const results = binaryen.expandType(target.results);
    if (target.params !== none || results.length > 1) continue;
    let wrapper = wrappers.get(e.value);
    if (wrapper === undefined) {
      // Under the instrumenter's reserved prefix: a module's own names cannot take it (scan.ts).
      wrapper = `plughost$reporting_${e.value}`;
      const at = () => mod.local.get(results.length, i64);
      const store = (offset: bigint, value: number) =>
        mod.call(storeU64, [mod.i64.add(at(), c64(offset)), value], none);
      const report = [
        mod.local.set(
          results.length,
          mod.call(alloc, [c64(BigInt(REPORT_BYTES))], i64),
        ),
        // Address 0 is Extism's refusal (its block cap): no report, the host asks with the swap.
        mod.if(
          mod.i64.ne(at(), c64(0n)),
          mod.block(null, [
            store(0n, c64(REPORT_MAGIC)),
            store(8n, mod.global.get(fuel, i64)),
            store(16n, mod.hasMemory() ? mod.i64.extend_u(pages()) : c64(0n)),
            store(24n, c64(armed)),
            mod.global.set(ARM_PENDING, mod.i32.const(1)),
          ]),
        ),
      ];
      // The fuel the last report armed, unless a swap set the fuel since.
      const arm = mod.if(
        mod.global.get(ARM_PENDING, i32),
        mod.block(null, [
          mod.global.set(fuel, c64(armed)),
          mod.global.set(ARM_PENDING, mod.i32.const(0)),
        ]),
      );
      const call = mod.call(e.value, [], target.results);
      const body = results.length === 0
        ? mod.block(null, [arm, call, ...report])
        : mod.block(null, [
          arm,
          mod.local.set(0, call),
          ...report,
          mod.local.get(0, target.results),
        ], target.results);
      const locals = results.length === 0 ? [i64] : [target.results, i64];
      mod.addFunction(wrapper, none, target.results, locals, body);
      wrappers.set(e.value, wrapper);
    }
    mod.removeExport(e.name);
    mod.addFunctionExport(wrapper, e.name);
    mod.addFunctionExport(wrapper, `${REPORTS_PREFIX}${e.name}`);
  }
}

/** The exports of a worker variant whose calls report (see {@link REPORTS_PREFIX}). */
export function reportingExports(module: WebAssembly.Module): Set<string> {
  const names = new Set<string>();
  for (const { name, kind } of WebAssembly.Module.exports(module)) {
    if (kind === "function" && name.startsWith(REPORTS_PREFIX)) {
      names.add(name.slice(REPORTS_PREFIX.length));
    }
  }
  return names;
}

/**
 * The report in a worker's message, or null when the message is no call's
 * return or its last block is not a report.
 */
export function reportOf(message: unknown): CallReport | null {
  if (typeof message !== "object" || message === null) return null;
  const { type, results } = message as { type?: unknown; results?: unknown };
  if (type !== "return" || !Array.isArray(results)) return null;
  const call = results[1] as { results?: unknown; state?: { blocks?: unknown } } | null | undefined;
  // Only a call that returned: code that trapped never reached the wrapper, so a block it left
  // last could be its own forgery.
  if (!Array.isArray(call?.results) || call.results[0] !== null) return null;
  const blocks = call.state?.blocks;
  if (!Array.isArray(blocks)) return null;
  let last: unknown = null;
  let top = -1;
  for (const entry of blocks) {
    if (Array.isArray(entry) && typeof entry[1] === "number" && entry[1] > top) {
      top = entry[1];
      last = entry[0];
    }
  }
  if (!(last instanceof ArrayBuffer) || last.byteLength !== REPORT_BYTES) return null;
  const view = new DataView(last);
  if (view.getBigUint64(0, true) !== REPORT_MAGIC) return null;
  return {
    fuelLeft: view.getBigInt64(8, true),
    memoryPages: Number(view.getBigUint64(16, true)),
    armed: view.getBigInt64(24, true),
  };
}

/**
 * Calls `seen` with the report of each return message of `plugin`'s worker
 * (null for a return without one), before Extism's handler of the message
 * settles the call. False when Extism's worker is not where it is expected:
 * then no report is seen and every call is followed by the swap.
 */
export function watchCallReports(
  plugin: Plugin,
  seen: (report: CallReport | null) => void,
): boolean {
  const worker = (plugin as unknown as { worker?: unknown }).worker as
    | { prependListener?: (event: "message", listener: (message: unknown) => void) => unknown }
    | null
    | undefined;
  if (typeof worker?.prependListener !== "function") return false;
  worker.prependListener("message", (message) => {
    if ((message as { type?: unknown } | null)?.type === "return") seen(reportOf(message));
  });
  return true;
}
