/**
 * Child access for the binaryen expression kinds the meter accepts: MVP,
 * sign-ext, bulk memory, SIMD, reference types (tables, ref.func/null),
 * multi-value and tail calls. Any other kind (atomics, exceptions, GC, ...)
 * is refused so that no code escapes metering. Uses binaryen's C API
 * directly: `getExpressionInfo` reads every field and is several times slower.
 * @module
 */
import binaryen from "./binaryen.ts";
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
  /** Fixed child slots, in evaluation order: their getters and setters. */
  getters: Raw[];
  setters: Raw[];
  /** The operand list (after the fixed slots): [count, getAt, setAt], or null. */
  count: Raw | null;
  listGet: Raw | null;
  listSet: Raw | null;
  /** Returns true when this node is an atomic access (refused). */
  atomic: Raw | null;
}

/** By kind id (an array: the walk looks one up per node). */
const kinds: (Kind | undefined)[] = [];
const id = (kind: string) => (binaryen as unknown as Record<string, number>)[`${kind}Id`] as number;
const cap = (s: string) => `${s[0]?.toUpperCase()}${s.slice(1)}`;

function def(kind: string, fields: string[], list: "Child" | "Operand" | null = null): void {
  kinds[id(kind)] = {
    getters: fields.map((f) => c(`${kind}Get${cap(f)}`)),
    setters: fields.map((f) => c(`${kind}Set${cap(f)}`)),
    count: list === null ? null : c(`${kind}GetNum${list === "Child" ? "Children" : "Operands"}`),
    listGet: list === null ? null : c(`${kind}Get${list}At`),
    listSet: list === null ? null : c(`${kind}Set${list}At`),
    atomic: kind === "Load" || kind === "Store" ? c(`${kind}IsAtomic`) : null,
  };
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
) def(kind, []);

const kindNames = new Map<number, string>();
for (const [key, value] of Object.entries(binaryen)) {
  if (key.endsWith("Id") && typeof value === "number") kindNames.set(value, key.slice(0, -2));
}

const getId = c("ExpressionGetId");

/** The kind id of an expression; throws `load_error` for kinds the meter does not handle. */
export function inspect(expr: Expr): number {
  const kindId = getId(expr);
  const kind = kinds[kindId];
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

/** What a walk does at each expression; `kind` is its id, already checked by {@link inspect}. */
export interface Visitor {
  /** Before the expression's children; returning false skips them (and `leave`). */
  enter?(expr: Expr, kind: number): boolean | void;
  /** After its children; returns the expression's replacement (or nothing to keep it). */
  leave?(expr: Expr, kind: number): Expr | void;
}

function childAt(kind: Kind, expr: Expr, index: number): Expr {
  const slots = kind.getters.length;
  return index < slots
    ? (kind.getters[index] as Raw)(expr)
    : (kind.listGet as Raw)(expr, index - slots);
}

function setChildAt(kind: Kind, expr: Expr, index: number, child: Expr): void {
  const slots = kind.setters.length;
  if (index < slots) (kind.setters[index] as Raw)(expr, child);
  else (kind.listSet as Raw)(expr, index - slots, child);
}

/**
 * Walks an expression tree in evaluation order and returns the root's
 * replacement. It keeps its own stack instead of recursing: compilers nest
 * blocks thousands deep (GHC's output does), which overflowed the JavaScript
 * stack, and did so only sometimes, since frame sizes change as V8 tiers the
 * walker up. The stack's arrays are indexed by depth and never shrink, so a
 * walk allocates only while it reaches a new depth (one per function body: the
 * instrumenter's hottest loop).
 */
export function walk(root: Expr, visitor: Visitor): Expr {
  const enter = visitor.enter;
  const leave = visitor.leave;
  // The open expressions, innermost at `top`, in parallel arrays.
  const exprs: Expr[] = [];
  const kindIds: number[] = [];
  /** How many child positions (fixed slots, then the list) each has. */
  const ends: number[] = [];
  /** The position of the next child to visit. */
  const nextChild: number[] = [];
  let top = -1;
  /** Opens an expression; returns its replacement when it is done at once (skipped or a leaf), else null. */
  const open = (expr: Expr): Expr | null => {
    const kindId = inspect(expr);
    if (enter !== undefined && enter.call(visitor, expr, kindId) === false) return expr;
    const shape = kinds[kindId] as Kind;
    const end = shape.getters.length + (shape.count === null ? 0 : shape.count(expr));
    if (end === 0) {
      return (leave === undefined ? undefined : leave.call(visitor, expr, kindId)) ?? expr;
    }
    top++;
    exprs[top] = expr;
    kindIds[top] = kindId;
    ends[top] = end;
    nextChild[top] = 0;
    return null;
  };
  const done = open(root);
  if (done !== null) return done;
  for (;;) {
    const expr = exprs[top] as Expr;
    const index = nextChild[top] as number;
    if (index < (ends[top] as number)) {
      nextChild[top] = index + 1;
      const shape = kinds[kindIds[top] as number] as Kind;
      const child = childAt(shape, expr, index);
      if (child === 0) continue; // an empty slot (an if without else, a return without value)
      const replaced = open(child);
      if (replaced !== null && replaced !== child) setChildAt(shape, expr, index, replaced);
      continue;
    }
    const kindId = kindIds[top] as number;
    top--;
    const replacement = (leave === undefined ? undefined : leave.call(visitor, expr, kindId)) ??
      expr;
    if (top < 0) return replacement;
    if (replacement !== expr) {
      setChildAt(
        kinds[kindIds[top] as number] as Kind,
        exprs[top] as Expr,
        (nextChild[top] as number) - 1,
        replacement,
      );
    }
  }
}

/** Whether the expression tree has an expression of one of `kinds` (the walk stops at the first). */
export function containsKind(root: Expr, kinds: ReadonlySet<number>): boolean {
  let found = false;
  walk(root, {
    enter: (_expr, kind) => {
      if (kinds.has(kind)) found = true;
      return !found;
    },
  });
  return found;
}
