/**
 * The exported fuel global is a copy: the metered code charges a global of its
 * own, and the copy is synced where the host enters and wherever it can look.
 * See {@link enterThroughWrappers}.
 * @module
 */
import binaryen from "./binaryen.ts";
import { c, type Expr, walk } from "./walk.ts";

import { EXPORTED, GLOBAL } from "./fuel-names.ts";
export { EXPORTED, GLOBAL };

const addVar = c("FunctionAddVar");
const typeOf = c("ExpressionGetType");
const functionGetBody = c("FunctionGetBody");
const functionSetBody = c("FunctionSetBody");
const callOperands = c("CallGetNumOperands");
const callOperandAt = c("CallGetOperandAt");
const setCallOperandAt = c("CallSetOperandAt");
const indirectTarget = c("CallIndirectGetTarget");
const setIndirectTarget = c("CallIndirectSetTarget");
const callApi = (binaryen as unknown as {
  Call: { getTarget(call: Expr): string };
}).Call;

/**
 * The counter the code charges is a global of its own, not the exported one:
 * V8 reaches an exported mutable global through an indirection, which made
 * every function-entry charge cost 2-3x on Deno (SHA-256 +150%). The exported
 * global is copied in at every entry from the host (export wrappers) and out at
 * every exit to it (wrapper return, host function calls, fuel traps), so the
 * host sees the same figures as before.
 */
export function enterThroughWrappers(m: binaryen.Module): void {
  const exports = Array.from(
    { length: m.getNumExports() },
    (_, i) => binaryen.getExportInfo(m.getExportByIndex(i)),
  );
  for (const e of exports) m.removeExport(e.name);
  const wrapped = new Map<string, string>();
  for (const e of exports) {
    if (e.kind !== binaryen.ExternalFunction) {
      if (e.kind === binaryen.ExternalGlobal) m.addGlobalExport(e.value, e.name);
      else if (e.kind === binaryen.ExternalMemory) m.addMemoryExport(e.value, e.name);
      else if (e.kind === binaryen.ExternalTable) m.addTableExport(e.value, e.name);
      else throw new Error(`cannot re-export ${e.name} (kind ${e.kind})`);
      continue;
    }
    let wrapper = wrapped.get(e.value);
    if (wrapper === undefined) {
      wrapper = `${e.value}$plughost_entry`;
      addEntryWrapper(m, e.value, wrapper);
      wrapped.set(e.value, wrapper);
    }
    m.addFunctionExport(wrapper, e.name);
  }
  // The start function runs at instantiation: the host reads what it used afterwards.
  const start = m.getStart();
  if (start !== 0) {
    const target = binaryen.getFunctionInfo(start).name;
    addEntryWrapper(m, target, `${target}$plughost_start`);
    m.setStart(m.getFunction(`${target}$plughost_start`));
  }
}

function addEntryWrapper(m: binaryen.Module, target: string, name: string): void {
  const info = binaryen.getFunctionInfo(m.getFunction(target));
  const params = binaryen.expandType(info.params);
  const args = params.map((type, i) => m.local.get(i, type));
  const enter = m.global.set(GLOBAL, m.global.get(EXPORTED, binaryen.i64));
  const leave = m.global.set(EXPORTED, m.global.get(GLOBAL, binaryen.i64));
  const call = m.call(target, args, info.results);
  if (info.results === binaryen.none) {
    m.addFunction(name, info.params, info.results, [], m.block(null, [enter, call, leave]));
    return;
  }
  const tmp = params.length;
  m.addFunction(
    name,
    info.params,
    info.results,
    [info.results],
    m.block(null, [
      enter,
      m.local.set(tmp, call),
      leave,
      m.local.get(tmp, info.results),
    ], info.results),
  );
}

/** Read once: binaryen's module object is a ~2,000-property dictionary, and this runs per IR node. */
const CALL = binaryen.CallId;
const CALL_INDIRECT = binaryen.CallIndirectId;

/**
 * A call that may reach the host (an import, or call_indirect, whose table may
 * hold imports) with the exported counter brought up to date just before it
 * and read back after it, so a host function sees and may change the live
 * value; undefined for other expressions. The copy out comes after the
 * operands (inside the last one evaluated): operands that charge the counter
 * (a metered call, a bulk memory operation) would otherwise be undone when
 * it is read back.
 */
export function hostCall(
  m: binaryen.Module,
  expr: Expr,
  kind: number,
  imported: Set<string>,
  temp: (type: number) => number,
): Expr | undefined {
  const host = kind === CALL_INDIRECT ||
    (kind === CALL && imported.has(callApi.getTarget(expr)));
  if (!host) return undefined;
  const type = typeOf(expr);
  const out = m.global.set(EXPORTED, m.global.get(GLOBAL, binaryen.i64));
  const parts: Expr[] = [];
  const last = lastOperand(expr, kind);
  const operandType = last === null ? binaryen.none : typeOf(last.get());
  // No operand, or one that never completes (the call is then never made).
  if (last === null || operandType === binaryen.unreachable) parts.push(out);
  else {
    const tmp = temp(operandType);
    last.set(m.block(null, [
      m.local.set(tmp, last.get()),
      out,
      m.local.get(tmp, operandType),
    ], operandType));
  }
  // A tail call never comes back here: only the copy out is needed.
  if (type === binaryen.unreachable) return m.block(null, [...parts, expr]);
  const back = m.global.set(GLOBAL, m.global.get(EXPORTED, binaryen.i64));
  if (type === binaryen.none) return m.block(null, [...parts, expr, back], binaryen.none);
  const tmp = temp(type);
  return m.block(
    null,
    [...parts, m.local.set(tmp, expr), back, m.local.get(tmp, type)],
    type,
  );
}

/** The operand of a call evaluated last (call_indirect's target), as get/set; null when none. */
function lastOperand(expr: Expr, kind: number): { get(): Expr; set(e: Expr): void } | null {
  if (kind === CALL_INDIRECT) {
    return { get: () => indirectTarget(expr), set: (e) => void setIndirectTarget(expr, e) };
  }
  const n = callOperands(expr);
  if (n === 0) return null;
  return {
    get: () => callOperandAt(expr, n - 1),
    set: (e) => void setCallOperandAt(expr, n - 1, e),
  };
}

/** Wraps the host calls in a function that is not otherwise metered (a leaf's fuel-free copy). */
export function wrapHostCalls(m: binaryen.Module, func: number, imported: Set<string>): void {
  const temps = new Map<number, number>();
  const temp = (type: number) => {
    let index = temps.get(type);
    if (index === undefined) {
      index = addVar(func, type);
      temps.set(type, index);
    }
    return index;
  };
  const leave = (expr: Expr, kind: number) => hostCall(m, expr, kind, imported, temp);
  functionSetBody(func, walk(functionGetBody(func), { leave }));
}
