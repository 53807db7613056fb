/**
 * Write tracking for resettable modules (state.ts): every write to linear
 * memory first sets the bit of the chunk it lands in, so a reset copies back
 * only the chunks a call wrote instead of the whole memory (reset.ts). The
 * memory is cut into 64 chunks of 2^shift bytes; the host picks the shift when
 * it takes the snapshot, so the 64 chunks cover the memory as it is then
 * (a write past them lands in pages a grown memory added, which a reset does
 * not put back: virtual-memory.ts zeroes them when they are handed out again;
 * its mark wraps to a low chunk, copied back for nothing). A store marks the chunk of its first byte: it can spill at most 15
 * bytes into the next one, which the reset copies back with each chunk.
 * memory.fill, memory.copy and memory.init mark every chunk of their range.
 *
 * The mask and shift are globals of the instrumenter's own (the module's code
 * cannot name them) and are not exported: V8 reaches an exported mutable
 * global through an indirection (see exported-fuel.ts). The host reaches them
 * through three exports, added after metering so they charge no fuel:
 * `plughost_dirty_init(shift)` (sets the shift, clears the mask),
 * `plughost_dirty_take()` (returns the mask and clears it) and
 * `plughost_dirty_mark(at, length)` (for the host's own writes, bulk-io.ts).
 * @module
 */
import binaryen from "./binaryen.ts";
import { DIRTY_EXPORTS } from "../reset.ts";
import { c, type Expr, walk } from "./walk.ts";

const MASK = "plughost$dirty";
const SHIFT = "plughost$dirty_shift";
const MARK_RANGE = "plughost$dirty_mark";
const TAKE = "plughost$dirty_take";
const INIT = "plughost$dirty_init";
/** Before the host sets it: one chunk per 1/64 of the 4 GiB address space. */
const INITIAL_SHIFT = 26;

const addVar = c("FunctionAddVar");
const typeOf = c("ExpressionGetType");
const functionGetBody = c("FunctionGetBody");
const storeGetPtr = c("StoreGetPtr");
const storeSetPtr = c("StoreSetPtr");
const storeGetOffset = c("StoreGetOffset");
const laneIsStore = c("SIMDLoadStoreLaneIsStore");
const laneGetPtr = c("SIMDLoadStoreLaneGetPtr");
const laneSetPtr = c("SIMDLoadStoreLaneSetPtr");
const laneGetOffset = c("SIMDLoadStoreLaneGetOffset");

/** Read once: binaryen's module object is a ~2,000-property dictionary, and these run per IR node. */
const STORE = binaryen.StoreId;
const LANE = binaryen.SIMDLoadStoreLaneId;

/** The operands of each bulk memory kind in evaluation order: [get, set] each, destination first. */
const bulkOperands = new Map<number, [Raw, Raw][]>(
  ([
    ["MemoryFill", ["Dest", "Value", "Size"]],
    ["MemoryCopy", ["Dest", "Source", "Size"]],
    ["MemoryInit", ["Dest", "Offset", "Size"]],
  ] as const).map(([kind, fields]) => [
    (binaryen as unknown as Record<string, number>)[`${kind}Id`] as number,
    fields.map((f) => [c(`${kind}Get${f}`), c(`${kind}Set${f}`)]),
  ]),
);
type Raw = ReturnType<typeof c>;

const i64 = (m: binaryen.Module, value: bigint) => m.i64.const(value as unknown as number);

/**
 * Memories that start smaller than this many pages are not tracked: a whole
 * reset of 1 MiB costs ~35 us, while tracking costs every store a few
 * instructions on every call, strict or not (SHA-256 in the metering bench,
 * a 1-page module: 0.93-0.98x metered/unmetered untracked, 1.12-1.37x tracked,
 * measured under load).
 */
export const TRACK_MIN_PAGES = 16;

/**
 * Adds write tracking to every function the module defines. Returns false
 * (module unchanged) when it has no memory, a 64-bit one, or one that starts
 * below {@link TRACK_MIN_PAGES}.
 */
export function trackWrites(m: binaryen.Module): boolean {
  if (!m.hasMemory()) return false;
  const memory = m.getMemoryInfo();
  if (memory.is64 || memory.initial < TRACK_MIN_PAGES) return false;
  const { i32 } = binaryen;
  const defined: number[] = [];
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const func = m.getFunctionByIndex(i);
    if (binaryen.getFunctionInfo(func).base === "") defined.push(func);
  }
  m.addGlobal(MASK, binaryen.i64, true, i64(m, 0n));
  m.addGlobal(SHIFT, i32, true, m.i32.const(INITIAL_SHIFT));
  for (const func of defined) new FunctionTracker(m, func).run();
  addHostFunctions(m);
  return true;
}

/** `mask |= 1 << (address >> shift)`. */
function markChunk(m: binaryen.Module, address: Expr): Expr {
  const bit = m.i64.shl(
    i64(m, 1n),
    m.i64.extend_u(m.i32.shr_u(address, m.global.get(SHIFT, binaryen.i32))),
  );
  return m.global.set(MASK, m.i64.or(m.global.get(MASK, binaryen.i64), bit));
}

class FunctionTracker {
  /**
   * A store's address: set, read by the mark, and read again by the store before its value
   * is evaluated, so stores nested in the value can share it.
   */
  private pointerLocal: number | null = null;
  /** A bulk operation's operands, per nesting depth: they are all set before any is read. */
  private readonly bulks: number[][] = [];

  constructor(private readonly m: binaryen.Module, private readonly func: number) {}

  run(): void {
    const body = functionGetBody(this.func);
    if (body === 0) return;
    const next = walk(body, this);
    if (next !== body) c("FunctionSetBody")(this.func, next);
  }

  private pointer(): number {
    this.pointerLocal ??= addVar(this.func, binaryen.i32);
    return this.pointerLocal;
  }

  private bulk(depth: number): number[] {
    this.bulks[depth] ??= [0, 1, 2].map(() => addVar(this.func, binaryen.i32));
    return this.bulks[depth];
  }

  /** Bulk operations open around the expression being walked (each nesting level has its locals). */
  private depth = 0;

  enter(_expr: Expr, kind: number): void {
    if (bulkOperands.has(kind)) this.depth++;
  }

  leave(expr: Expr, kind: number): Expr {
    const bulk = bulkOperands.get(kind);
    if (bulk !== undefined) this.depth--;
    const store = kind === STORE || (kind === LANE && laneIsStore(expr) !== 0);
    if (!store && bulk === undefined) return expr;
    // A write whose operands never finish never writes.
    if (typeOf(expr) === binaryen.unreachable) return expr;
    if (store) return this.trackStore(expr, kind);
    if (bulk !== undefined) return this.trackBulk(expr, bulk, this.depth);
    return expr;
  }

  /** `(local.set $t ptr) (mark ($t + offset)) (store (local.get $t) value)`: the order stays ptr, value. */
  private trackStore(expr: Expr, kind: number): Expr {
    const m = this.m;
    const lane = kind === LANE;
    const ptr = (lane ? laneGetPtr : storeGetPtr)(expr);
    const offset = (lane ? laneGetOffset : storeGetOffset)(expr);
    const t = this.pointer();
    (lane ? laneSetPtr : storeSetPtr)(expr, m.local.get(t, binaryen.i32));
    // The engine adds the offset without wrapping and traps past 4 GiB; a wrapped mark is then moot.
    const address = m.i32.add(m.local.get(t, binaryen.i32), m.i32.const(offset | 0));
    return m.block(null, [m.local.set(t, ptr), markChunk(m, address), expr], binaryen.none);
  }

  /** Operands into locals in their order, the range marked, then the operation on the locals. */
  private trackBulk(expr: Expr, operands: [Raw, Raw][], depth: number): Expr {
    const m = this.m;
    const locals = this.bulk(depth);
    const sets = operands.map(([get, set], i) => {
      const local = locals[i] as number;
      const value = get(expr);
      set(expr, m.local.get(local, binaryen.i32));
      return m.local.set(local, value);
    });
    const [dest, , size] = locals as [number, number, number];
    const mark = m.call(
      MARK_RANGE,
      [m.local.get(dest, binaryen.i32), m.local.get(size, binaryen.i32)],
      binaryen.none,
    );
    return m.block(null, [...sets, mark, expr], binaryen.none);
  }
}

/** The range marker and the host's two accessors. */
function addHostFunctions(m: binaryen.Module): void {
  const { i32, i64: I64, none } = binaryen;
  const at = () => m.local.get(0, i32);
  const length = () => m.local.get(1, i32);
  const shift = () => m.global.get(SHIFT, i32);
  // Locals: 0 at, 1 length, 2 first chunk, 3 last chunk minus first.
  const first = m.i32.shr_u(at(), shift());
  const last = m.i32.shr_u(m.i32.sub(m.i32.add(at(), length()), m.i32.const(1)), shift());
  const span = () => m.local.get(3, i32);
  // Bits first..last; a span of 63 or more (or one that wrapped past 4 GiB) marks everything.
  const bits = m.if(
    m.i32.ge_u(span(), m.i32.const(63)),
    i64(m, -1n),
    m.i64.shl(
      m.i64.sub(m.i64.shl(i64(m, 2n), m.i64.extend_u(span())), i64(m, 1n)),
      m.i64.extend_u(m.local.get(2, i32)),
    ),
  );
  m.addFunction(
    MARK_RANGE,
    binaryen.createType([i32, i32]),
    none,
    [i32, i32],
    m.if(
      m.i32.ne(length(), m.i32.const(0)),
      m.block(null, [
        m.local.set(2, first),
        m.local.set(3, m.i32.sub(last, m.local.get(2, i32))),
        m.global.set(MASK, m.i64.or(m.global.get(MASK, I64), bits)),
      ]),
    ),
  );
  m.addFunction(
    TAKE,
    none,
    I64,
    [I64],
    m.block(null, [
      m.local.set(0, m.global.get(MASK, I64)),
      m.global.set(MASK, i64(m, 0n)),
      m.local.get(0, I64),
    ], I64),
  );
  m.addFunction(
    INIT,
    i32,
    none,
    [],
    m.block(null, [
      m.global.set(SHIFT, m.local.get(0, i32)),
      m.global.set(MASK, i64(m, 0n)),
    ]),
  );
  m.addFunctionExport(MARK_RANGE, DIRTY_EXPORTS.mark);
  m.addFunctionExport(TAKE, DIRTY_EXPORTS.take);
  m.addFunctionExport(INIT, DIRTY_EXPORTS.init);
}
