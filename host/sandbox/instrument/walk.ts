/**
 * Child access for the binaryen expression kinds the meter accepts: MVP,
 * sign-ext, bulk memory, SIMD, reference types (tables, ref.func/null),
 * multi-value and tail calls. Any other kind (atomics, exceptions, GC, ...)
 * is refused so that no code escapes metering. Uses binaryen's C API
 * directly: `getExpressionInfo` reads every field and is several times slower.
 * @module
 */
import binaryen from "binaryen";
import { HostError } from "../../errors.ts";

/** A binaryen expression pointer. */
export type Expr = number;

type Raw = (...args: number[]) => number;
const raw = binaryen as unknown as Record<string, Raw | undefined>;

/** A function of binaryen's C API, e.g. `c("LoopGetBody")`. */
export function c(name: string): Raw {
  const f = raw[`_Binaryen${name}`];
  if (typeof f !== "function") throw new Error(`binaryen.js lacks _Binaryen${name}`);
  return f;
}

interface Kind {
  /** Fixed child slots, in evaluation order: [get, set]. */
  slots: [Raw, Raw][];
  /** Operand list (after the fixed slots): [count, getAt, setAt]. */
  list: [Raw, Raw, Raw] | null;
  /** Returns true when this node is an atomic access (refused). */
  atomic: Raw | null;
}

const kinds = new Map<number, Kind>();
const id = (kind: string) => (binaryen as unknown as Record<string, number>)[`${kind}Id`] as number;
const cap = (s: string) => `${s[0]?.toUpperCase()}${s.slice(1)}`;

function def(kind: string, fields: string[], list: "Child" | "Operand" | null = null): void {
  kinds.set(id(kind), {
    slots: fields.map((f) => [c(`${kind}Get${cap(f)}`), c(`${kind}Set${cap(f)}`)]),
    list: list === null ? null : [
      c(`${kind}GetNum${list === "Child" ? "Children" : "Operands"}`),
      c(`${kind}Get${list}At`),
      c(`${kind}Set${list}At`),
    ],
    atomic: kind === "Load" || kind === "Store" ? c(`${kind}IsAtomic`) : null,
  });
}

def("Block", [], "Child");
def("If", ["condition", "ifTrue", "ifFalse"]);
def("Loop", ["body"]);
def("Break", ["value", "condition"]);
def("Switch", ["value", "condition"]);
def("Call", [], "Operand");
def("CallIndirect", ["target"], "Operand");
def("LocalSet", ["value"]);
def("GlobalSet", ["value"]);
def("Load", ["ptr"]);
def("Store", ["ptr", "value"]);
def("Unary", ["value"]);
def("Binary", ["left", "right"]);
def("Select", ["ifTrue", "ifFalse", "condition"]);
def("Drop", ["value"]);
def("Return", ["value"]);
def("MemoryGrow", ["delta"]);
def("SIMDExtract", ["vec"]);
def("SIMDReplace", ["vec", "value"]);
def("SIMDShuffle", ["left", "right"]);
def("SIMDTernary", ["a", "b", "c"]);
def("SIMDShift", ["vec", "shift"]);
def("SIMDLoad", ["ptr"]);
def("SIMDLoadStoreLane", ["ptr", "vec"]);
def("MemoryInit", ["dest", "offset", "size"]);
def("MemoryCopy", ["dest", "source", "size"]);
def("MemoryFill", ["dest", "value", "size"]);
def("RefIsNull", ["value"]);
def("TableGet", ["index"]);
def("TableSet", ["index", "value"]);
def("TableGrow", ["value", "delta"]);
def("TupleMake", [], "Operand");
def("TupleExtract", ["tuple"]);
for (
  const kind of [
    "Nop",
    "Unreachable",
    "LocalGet",
    "GlobalGet",
    "Const",
    "MemorySize",
    "DataDrop",
    "RefNull",
    "RefFunc",
    "TableSize",
  ]
) kinds.set(id(kind), { slots: [], list: null, atomic: null });

const kindNames = new Map<number, string>();
for (const [key, value] of Object.entries(binaryen)) {
  if (key.endsWith("Id") && typeof value === "number") kindNames.set(value, key.slice(0, -2));
}

const getId = c("ExpressionGetId");

/** The kind id of an expression; throws `load_error` for kinds the meter does not handle. */
export function inspect(expr: Expr): number {
  const kindId = getId(expr);
  const kind = kinds.get(kindId);
  if (kind === undefined) {
    throw new HostError(
      "load_error",
      `The module uses the instruction kind "${kindNames.get(kindId) ?? kindId}", which the ` +
        "sandbox cannot meter (atomics, exceptions, GC and other proposals are refused); " +
        "rebuild the plugin without that proposal",
    );
  }
  if (kind.atomic !== null && kind.atomic(expr) !== 0) {
    throw new HostError(
      "load_error",
      "The module uses atomic memory accesses (threads proposal), which the sandbox refuses; " +
        "rebuild the plugin without threads",
    );
  }
  return kindId;
}

/**
 * Visits the children of an expression in evaluation order; `visit` returns
 * the replacement for a child (or the child itself to keep it).
 */
export function mapChildren(expr: Expr, kindId: number, visit: (child: Expr) => Expr): void {
  const kind = kinds.get(kindId) as Kind;
  for (const [get, set] of kind.slots) {
    const child = get(expr);
    if (child !== 0) {
      const next = visit(child);
      if (next !== child) set(expr, next);
    }
  }
  if (kind.list !== null) {
    const [count, getAt, setAt] = kind.list;
    const n = count(expr);
    for (let i = 0; i < n; i++) {
      const child = getAt(expr, i);
      const next = visit(child);
      if (next !== child) setAt(expr, i, next);
    }
  }
}
