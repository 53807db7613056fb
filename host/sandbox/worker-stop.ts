/**
 * A worker call past its deadline is stopped at its next host-function call,
 * keeping its worker. Its code asks for fuel only once a slice is used
 * (worker-refuel.ts), and a plugin that loops on a host function makes ~1,000
 * host calls a slice, each waiting for its turn on the host's thread: it did
 * not ask within the grace and its worker was terminated, and every such
 * timeout started a new worker (27-350 ms of Deno's loop each under the
 * containment benchmark).
 *
 * The worker variant puts a small function in front of each host function the
 * module imports (`extism:host/user`, the ABI's `(i64) -> i64`): it calls the
 * import and traps when the answer is {@link STOP_ANSWER}, an offset Extism
 * never hands out. The host answers that once the call is past its deadline
 * (host-functions.ts). Added after metering: the added code charges no fuel.
 * @module
 */
import type binaryenModule from "binaryen";
import { USER_NAMESPACE } from "./imports.ts";

type Binaryen = typeof binaryenModule;
type Module = binaryenModule.Module;

/** The answer that stops the call: 2^64 - 2 as Extism writes it, -2 as the module's i64 reads it. */
export const STOP_ANSWER = 0xffff_ffff_ffff_fffen;

/**
 * Puts the stop in front of every host function `mod` imports with the ABI's
 * signature. The import keeps its module and name under a new internal name;
 * a defined function takes its old name, so every call and table entry goes
 * through it.
 */
export function addHostCallStopsTo(binaryen: Binaryen, mod: Module): void {
  const { i64 } = binaryen;
  const imports: { name: string; base: string }[] = [];
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    if (info.module !== USER_NAMESPACE || !info.base) continue;
    // Host functions only: the bulk copies (two parameters) are answered in the worker.
    if (info.params !== i64 || info.results !== i64) continue;
    imports.push({ name: info.name, base: info.base });
  }
  for (const { name, base } of imports) {
    // Under the instrumenter's reserved prefix: a module's own names cannot take it (scan.ts).
    const host = `plughost$host_${name}`;
    mod.removeFunction(name);
    mod.addFunctionImport(host, USER_NAMESPACE, base, i64, i64);
    mod.addFunction(
      name,
      i64,
      i64,
      [i64],
      mod.block(null, [
        mod.local.set(1, mod.call(host, [mod.local.get(0, i64)], i64)),
        mod.if(
          mod.i64.eq(mod.local.get(1, i64), mod.i64.const(BigInt.asIntN(64, STOP_ANSWER) as never)),
          mod.unreachable(),
        ),
        mod.local.get(1, i64),
      ], i64),
    );
  }
}
