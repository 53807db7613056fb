/**
 * Child access for the binaryen expression kinds the meter accepts: MVP,
 * sign-ext, bulk memory, SIMD, reference types (tables, ref.func/null),
 * multi-value and tail calls. Any other kind (atomics, exceptions, GC, ...)
 * is refused so that no code escapes metering.
 * @module
 */
import binaryen from "binaryen";
import { HostError } from "../../errors.ts";

/** A binaryen expression pointer. */
export type Expr = number;

type Info = Record<string, unknown>;
type Setter = (parent: Expr, child: Expr) => void;
type Slot = { field: string; set: Setter };

const b = binaryen as unknown as Record<string, unknown> & typeof binaryen;
const cls = (name: string) => b[name] as Record<string, (...args: number[]) => void>;
const slot = (kind: string, field: string): Slot => {
  const setter = cls(kind)[`set${field[0]?.toUpperCase()}${field.slice(1)}`];
  if (setter === undefined) throw new Error(`binaryen.js has no setter for ${kind}.${field}`);
  return { field, set: (p, c) => setter(p, c) };
};

/** Fixed child fields per accepted kind, in evaluation order. */
const fixed = new Map<number, Slot[]>();
/** Kinds whose children are an operand list (after fixed fields). */
const listed = new Map<number, (parent: Expr, index: number, child: Expr) => void>();
const leaves = new Set<number>();

function def(kind: string, ...fields: string[]): void {
  fixed.set(b[`${kind}Id`] as number, fields.map((f) => slot(kind, f)));
}

def("If", "condition", "ifTrue", "ifFalse");
def("Loop", "body");
def("Break", "value", "condition");
def("Switch", "value", "condition");
def("LocalSet", "value");
def("GlobalSet", "value");
def("Load", "ptr");
def("Store", "ptr", "value");
def("Unary", "value");
def("Binary", "left", "right");
def("Select", "ifTrue", "ifFalse", "condition");
def("Drop", "value");
def("Return", "value");
def("MemoryGrow", "delta");
def("SIMDExtract", "vec");
def("SIMDReplace", "vec", "value");
def("SIMDShuffle", "left", "right");
def("SIMDTernary", "a", "b", "c");
def("SIMDShift", "vec", "shift");
def("SIMDLoad", "ptr");
def("SIMDLoadStoreLane", "ptr", "vec");
def("MemoryInit", "dest", "offset", "size");
def("MemoryCopy", "dest", "source", "size");
def("MemoryFill", "dest", "value", "size");
def("RefIsNull", "value");
def("TableGet", "index");
def("TableSet", "index", "value");
def("TableGrow", "value", "delta");
def("TupleExtract", "tuple");
def("Call");
def("CallIndirect", "target");
def("Block");
def("TupleMake");
listed.set(binaryen.BlockId, (p, i, c) => cls("Block").setChildAt?.(p, i, c));
listed.set(binaryen.CallId, (p, i, c) => cls("Call").setOperandAt?.(p, i, c));
listed.set(binaryen.CallIndirectId, (p, i, c) => cls("CallIndirect").setOperandAt?.(p, i, c));
listed.set(binaryen.TupleMakeId, (p, i, c) => cls("TupleMake").setOperandAt?.(p, i, c));
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
) leaves.add(b[`${kind}Id`] as number);

const kindNames = new Map<number, string>();
for (const [key, value] of Object.entries(b)) {
  if (key.endsWith("Id") && typeof value === "number") kindNames.set(value, key.slice(0, -2));
}

/** Details of one expression: its kind, info record and children. */
export interface Node {
  id: number;
  info: Info;
}

/** Reads an expression; throws `load_error` for kinds the meter does not handle. */
export function inspect(expr: Expr): Node {
  const id = binaryen.getExpressionId(expr);
  if (!fixed.has(id) && !leaves.has(id)) {
    throw new HostError(
      "load_error",
      `The module uses the instruction kind "${kindNames.get(id) ?? id}", which the sandbox ` +
        "cannot meter (atomics, exceptions, GC and other proposals are refused); " +
        "rebuild the plugin without that proposal",
    );
  }
  if (leaves.has(id)) return { id, info: {} };
  const info = binaryen.getExpressionInfo(expr) as unknown as Info;
  if (info.isAtomic === true) {
    throw new HostError(
      "load_error",
      "The module uses atomic memory accesses (threads proposal), which the sandbox refuses; " +
        "rebuild the plugin without threads",
    );
  }
  return { id, info };
}

/**
 * Visits the children of `node` in evaluation order; `visit` returns the
 * replacement for a child (or the child itself to keep it).
 */
export function mapChildren(expr: Expr, node: Node, visit: (child: Expr) => Expr): void {
  const slots = fixed.get(node.id);
  if (slots === undefined) return;
  const listSetter = listed.get(node.id);
  // CallIndirect evaluates operands before its target; the order only matters for costs.
  for (const s of slots) {
    const child = node.info[s.field];
    if (typeof child === "number" && child !== 0) {
      const next = visit(child);
      if (next !== child) s.set(expr, next);
    }
  }
  if (listSetter !== undefined) {
    const list = (node.info.children ?? node.info.operands) as number[];
    list.forEach((child, index) => {
      const next = visit(child);
      if (next !== child) listSetter(expr, index, next);
    });
  }
}
