/**
 * Fuel metering with binaryen.js: a mutable i64 global holds the remaining
 * budget; every function entry and loop header subtracts the static cost of
 * its region (the IR nodes it holds outside nested loops) and traps with
 * `unreachable` once the budget is below zero, after storing it so the host
 * sees the negative value.
 *
 * Functions that loop keep the counter in a local ("local mode") and sync it
 * to the global before each call, after it (the callee charged the global)
 * and at exit. Other functions charge the global directly ("global mode"),
 * as do the rare looping functions the local form cannot express exactly
 * (tail calls, multi-value calls or results, loops inside call operands).
 * @module
 */
import binaryen from "./binaryen.ts";
import {
  enterThroughWrappers,
  EXPORTED,
  GLOBAL,
  hostCall,
  wrapHostCalls,
} from "./exported-fuel.ts";
import { BULK_BYTES_SHIFT, HOST_CALL_FUEL } from "./costs.ts";
import { c, type Expr, walk } from "./walk.ts";
import { type KindFlags, KindIndex } from "./kind-index.ts";

import { FUEL_EXPORT, OUT_OF_FUEL } from "./fuel-names.ts";
export { FUEL_EXPORT, OUT_OF_FUEL };
const RETURN_LABEL = "plughost$return";

const addVar = c("FunctionAddVar");
const typeOf = c("ExpressionGetType");
const callIsReturn = c("CallIsReturn");
const callIndirectIsReturn = c("CallIndirectIsReturn");
const loopGetBody = c("LoopGetBody");
const loopSetBody = c("LoopSetBody");
const returnGetValue = c("ReturnGetValue");
const functionGetBody = c("FunctionGetBody");
const functionSetBody = c("FunctionSetBody");
const functionGetResults = c("FunctionGetResults");

/** The size operand of each bulk memory kind: [get, set]. */
const bulkSize = new Map<number, [(e: Expr) => Expr, (e: Expr, size: Expr) => void]>(
  (["MemoryCopy", "MemoryFill", "MemoryInit"] as const).map((kind) => [
    (binaryen as unknown as Record<string, number>)[`${kind}Id`] as number,
    [c(`${kind}GetSize`), c(`${kind}SetSize`)],
  ]),
);

// Kind ids read once: binaryen's module object has ~2,000 properties (a dictionary, ~5 ns a
// read), and the meter's walks compare each of a module's IR nodes against these several times.
const LOOP = binaryen.LoopId;
const CALL = binaryen.CallId;
const CALL_INDIRECT = binaryen.CallIndirectId;
const RETURN = binaryen.ReturnId;

const isTuple = (type: number) => binaryen.expandType(type).length > 1;
const i64 = (m: binaryen.Module, value: bigint) => m.i64.const(value as unknown as number);

interface Shape {
  loops: boolean;
  localSafe: boolean;
  calls: boolean;
  nodes: number;
  /** Fuel for the calls to the host it makes (charged with its nodes, not counted as nodes). */
  hostCost: number;
  /** Holds memory.copy/fill/init, charged by length at run time (so never a fuel-free leaf). */
  bulk: boolean;
}

/** A small leaf function's fuel-free copy and the cost its callers charge for it. */
interface Leaf {
  clone: string;
  cost: number;
}

const callApi = (binaryen as unknown as {
  Call: { getTarget(call: Expr): string; setTarget(call: Expr, name: string): void };
}).Call;

/** Whether a call reaches the host: an import, or any call_indirect when a table holds an import. */
function reachesHost(
  expr: Expr,
  kind: number,
  imported: Set<string>,
  tableImports: boolean,
): boolean {
  if (kind === CALL_INDIRECT) return tableImports;
  return kind === CALL && imported.has(callApi.getTarget(expr));
}

/**
 * First pass: does the function loop, and can the local form meter it exactly? Notes the kinds
 * its body holds in `kinds` on the way.
 */
function shapeOf(
  body: Expr,
  imported: Set<string>,
  tableImports: boolean,
  kinds: KindFlags,
): Shape {
  const shape: Shape = {
    loops: false,
    localSafe: true,
    calls: false,
    nodes: 0,
    hostCost: 0,
    bulk: false,
  };
  let callDepth = 0;
  const isCall = (kind: number) => kind === CALL || kind === CALL_INDIRECT;
  const enter = (expr: Expr, kind: number): void => {
    shape.nodes++;
    KindIndex.see(kinds, kind);
    if (reachesHost(expr, kind, imported, tableImports)) shape.hostCost += HOST_CALL_FUEL;
    if (bulkSize.has(kind)) {
      shape.bulk = true;
      // Its run-time charge in a call's operands would land after the counter's sync.
      if (callDepth > 0) shape.localSafe = false;
    }
    if (kind === LOOP) {
      shape.loops = true;
      if (callDepth > 0) shape.localSafe = false;
    } else if (isCall(kind)) {
      const tail = kind === CALL ? callIsReturn(expr) : callIndirectIsReturn(expr);
      if (tail !== 0 || isTuple(typeOf(expr))) shape.localSafe = false;
      // Host functions charge no fuel: a function that only calls imports is still a leaf.
      if (kind !== CALL || !imported.has(callApi.getTarget(expr))) shape.calls = true;
      callDepth++;
    }
  };
  walk(body, {
    enter,
    leave: (_expr, kind) => {
      if (isCall(kind)) callDepth--;
    },
  });
  return shape;
}

class FunctionMeter {
  private cost = 0;
  /** The local that holds a bulk operation's size while it is charged. */
  private size: number | null = null;
  private readonly temps = new Map<number, number>();
  readonly fuel: number | null;

  constructor(
    private readonly m: binaryen.Module,
    private readonly func: number,
    local: boolean,
    private readonly leaves: Map<string, Leaf>,
    private readonly imported: Set<string>,
    private readonly tableImports: boolean,
  ) {
    this.fuel = local ? addVar(func, binaryen.i64) : null;
  }

  private gget(): Expr {
    return this.m.global.get(GLOBAL, binaryen.i64);
  }

  private below(value: Expr): Expr {
    return this.m.i64.lt_s(value, i64(this.m, 0n));
  }

  /** The charge for a region: global or local form. */
  charge(cost: number, entry: boolean): Expr[] {
    return this.chargeBy(() => i64(this.m, BigInt(Math.max(1, cost))), entry);
  }

  /**
   * Subtracts `amount` (an i64 expression, built once per use) and traps with
   * the counter stored once it is below zero: the region charge, and the
   * run-time charge of bulk memory operations.
   */
  private chargeBy(amount: () => Expr, entry: boolean): Expr[] {
    const m = this.m;
    const outOfFuel = () => m.call(OUT_OF_FUEL, [], binaryen.none);
    if (this.fuel === null) {
      return [
        m.global.set(GLOBAL, m.i64.sub(this.gget(), amount())),
        m.if(this.below(this.gget()), outOfFuel()),
      ];
    }
    const f = this.fuel;
    const value = m.i64.sub(entry ? this.gget() : m.local.get(f, binaryen.i64), amount());
    // The counter goes to the global for the handler, and comes back when it returns (refuelled).
    const refuel = m.block(null, [this.sync(), outOfFuel(), this.reload()]);
    return [m.if(this.below(m.local.tee(f, value, binaryen.i64)), refuel)];
  }

  /**
   * Wraps a bulk memory operation's size operand so that, once it is
   * evaluated (after the other operands, keeping their order), the length is
   * charged: `size >> BULK_BYTES_SHIFT` fuel, with the same check and trap as
   * a region. Nothing runs between the local's set and get but the charge,
   * so one local per function serves every bulk operation, nested ones too.
   */
  private chargeSize(expr: Expr, kind: number): void {
    const access = bulkSize.get(kind);
    if (access === undefined) return;
    const m = this.m;
    if (this.size === null) this.size = addVar(this.func, binaryen.i32);
    const size = this.size;
    const bytes = () =>
      m.i64.shr_u(
        m.i64.extend_u(m.local.get(size, binaryen.i32)),
        i64(m, BigInt(BULK_BYTES_SHIFT)),
      );
    access[1](
      expr,
      m.block(null, [
        m.local.set(size, access[0](expr)),
        ...this.chargeBy(bytes, false),
        m.local.get(size, binaryen.i32),
      ], binaryen.i32),
    );
  }

  private sync(): Expr {
    return this.m.global.set(GLOBAL, this.m.local.get(this.fuel as number, binaryen.i64));
  }

  private reload(): Expr {
    return this.m.local.set(this.fuel as number, this.gget());
  }

  private temp(type: number): number {
    let index = this.temps.get(type);
    if (index === undefined) {
      index = addVar(this.func, type);
      this.temps.set(type, index);
    }
    return index;
  }

  /** The cost of the regions that enclose the loops being walked, outermost first. */
  private readonly outer: number[] = [];

  /** Counts an expression into the current region; a loop opens a region of its own. */
  enter(_expr: Expr, kind: number): void {
    this.cost++;
    if (kind === LOOP) {
      this.outer.push(this.cost);
      this.cost = 0;
    }
  }

  /** Rewrites an expression once its children are rewritten; a loop's body gets its region's charge. */
  leave(expr: Expr, kind: number): Expr {
    if (kind === LOOP) {
      const inner = this.cost;
      this.cost = this.outer.pop() as number;
      const body = loopGetBody(expr);
      loopSetBody(expr, this.m.block(null, [...this.charge(inner, false), body], binaryen.auto));
      return expr;
    }
    this.chargeSize(expr, kind);
    if (reachesHost(expr, kind, this.imported, this.tableImports)) this.cost += HOST_CALL_FUEL;
    if (kind === CALL && callIsReturn(expr) === 0) {
      // A call to a small leaf: charge its cost here and call its fuel-free copy.
      const leaf = this.leaves.get(callApi.getTarget(expr));
      if (leaf !== undefined) {
        this.cost += leaf.cost;
        callApi.setTarget(expr, leaf.clone);
        return expr;
      }
    }
    const temp = (type: number) => this.temp(type);
    if (this.fuel === null) {
      return hostCall(this.m, expr, kind, this.imported, temp) ?? expr;
    }
    if (kind === RETURN) {
      const value = returnGetValue(expr);
      return this.m.br(RETURN_LABEL, 0, value === 0 ? undefined : value);
    }
    if (kind === CALL || kind === CALL_INDIRECT) {
      const type = typeOf(expr);
      const m = this.m;
      if (type === binaryen.unreachable) return expr;
      const call = hostCall(m, expr, kind, this.imported, temp) ?? expr;
      if (type === binaryen.none) {
        return m.block(null, [this.sync(), call, this.reload()], binaryen.none);
      }
      const tmp = this.temp(type);
      return m.block(
        null,
        [this.sync(), m.local.set(tmp, call), this.reload(), m.local.get(tmp, type)],
        type,
      );
    }
    return expr;
  }

  /** Rewrites the whole body with the entry charge (and exit sync in local mode). */
  meterBody(body: Expr, results: number): Expr {
    const m = this.m;
    this.cost = 0;
    const rewritten = walk(body, this);
    const entry = this.charge(this.cost, true);
    if (this.fuel === null) return m.block(null, [...entry, rewritten], binaryen.auto);
    const inner = m.block(RETURN_LABEL, [rewritten], results);
    if (results === binaryen.none) {
      return m.block(null, [...entry, inner, this.sync()], binaryen.none);
    }
    const tmp = this.temp(results);
    return m.block(
      null,
      [...entry, m.local.set(tmp, inner), this.sync(), m.local.get(tmp, results)],
      results,
    );
  }
}

/** Leaves up to this many IR nodes get a fuel-free copy for direct calls. */
const LEAF_MAX_NODES = 200;

/**
 * Adds the fuel global (a copy of it exported as {@link FUEL_EXPORT}, see
 * exported-fuel.ts) and meters every defined function. Direct calls to small leaf functions (no loops,
 * no bulk memory operations, no calls
 * but to host functions)
 * are charged in the caller's region and go to an unmetered copy, which saves
 * a global round trip per call; the fuel charged is the same.
 */
/**
 * Meters `m`. `importRefs`: the raw module can take a reference to an import
 * (scan.ts), so any `call_indirect` may reach the host, whatever binaryen's
 * element segments show.
 */
export function meterModule(m: binaryen.Module, startFuel: bigint, importRefs = false): KindIndex {
  m.addGlobal(GLOBAL, binaryen.i64, true, i64(m, startFuel));
  m.addGlobal(EXPORTED, binaryen.i64, true, i64(m, startFuel));
  const definedFuncs: number[] = [];
  const imported = new Set<string>();
  const count = m.getNumFunctions();
  for (let i = 0; i < count; i++) {
    const func = m.getFunctionByIndex(i);
    const info = binaryen.getFunctionInfo(func);
    if (info.base !== null && info.base !== "") imported.add(info.name);
    else definedFuncs.push(func);
  }
  const tableImports = importRefs || tablesHoldImports(m, imported);
  const index = new KindIndex();
  const defined = definedFuncs.map((func) => ({
    func,
    shape: shapeOf(functionGetBody(func), imported, tableImports, index.open(func)),
  }));
  const leaves = new Map<string, Leaf>();
  for (const { func, shape } of defined) {
    if (shape.loops || shape.calls || shape.bulk || shape.nodes > LEAF_MAX_NODES) continue;
    const info = binaryen.getFunctionInfo(func);
    const clone = `${info.name}$plughost_free`;
    if (m.getFunction(clone) !== 0) continue;
    const body = m.copyExpression(info.body);
    wrapHostCalls(m, m.addFunction(clone, info.params, info.results, info.vars, body), imported);
    leaves.set(info.name, { clone, cost: Math.max(1, shape.nodes) + shape.hostCost });
  }
  for (const { func, shape } of defined) {
    const body = functionGetBody(func);
    const results = functionGetResults(func);
    const local = shape.loops && shape.localSafe && !isTuple(results);
    const meter = new FunctionMeter(m, func, local, leaves, imported, tableImports);
    functionSetBody(func, meter.meterBody(body, results));
  }
  // Added after the loop above: the handler itself is not metered.
  m.addFunction(
    OUT_OF_FUEL,
    binaryen.none,
    binaryen.none,
    [],
    m.block(null, [m.global.set(EXPORTED, m.global.get(GLOBAL, binaryen.i64)), m.unreachable()]),
  );
  enterThroughWrappers(m);
  m.addGlobalExport(EXPORTED, FUEL_EXPORT);
  return index;
}

/** True when an element segment puts an import in a table (so call_indirect may reach the host). */
function tablesHoldImports(m: binaryen.Module, imported: Set<string>): boolean {
  const count = m.getNumElementSegments();
  for (let i = 0; i < count; i++) {
    const info = binaryen.getElementSegmentInfo(m.getElementSegmentByIndex(i));
    if (info.data.some((name) => imported.has(name))) return true;
  }
  return false;
}
