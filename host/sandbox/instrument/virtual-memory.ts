/**
 * A memory size of the module's own, so a reset instance whose memory grew
 * can serve strict calls (docs/replay.md, "Fresh instances"). A linear memory
 * cannot shrink, so a strict call that grew it used to need a new instance,
 * and some modules grow on every call: Rust's allocator takes its first heap
 * with `memory.grow`, an AssemblyScript heap grows for any input past its
 * first pages. In resettable modules every `memory.size` here reads a global,
 * {@link MEMORY_PAGES_EXPORT}, and every `memory.grow` calls a function that
 * grows that size, growing the engine's memory only past the largest size it
 * reached; pages handed out again are zeroed first. The global is part of the
 * state a reset puts back, so a call on a reset instance sees the sizes, the
 * grow results and the zeroed pages a new instance would show. Added after
 * metering: the rewritten instructions cost what they did.
 * @module
 */
import binaryen from "./binaryen.ts";
import { MEMORY_PAGES_EXPORT } from "../reset.ts";
import { c, type Expr, walk } from "./walk.ts";
import { type KindIndex, WALK_EVERY_BODY } from "./kind-index.ts";

const PAGES = "plughost$memory_pages";
const GROW = "plughost$memory_grow";
const PAGE_SHIFT = 16;
const MAX_PAGES = 65536;

const growGetDelta = c("MemoryGrowGetDelta");
const functionGetBody = c("FunctionGetBody");
/** The instructions rewritten: the memory's size read, and grown. */
const SIZE = binaryen.MemorySizeId;
const GROW_ID = binaryen.MemoryGrowId;
const SIZE_KINDS: ReadonlySet<number> = new Set([SIZE, GROW_ID]);

/**
 * Rewrites `memory.size` and `memory.grow` of a module with one 32-bit
 * memory; `index` is what the meter saw of each body. Returns false (module
 * unchanged) when it has no memory, a 64-bit one, or no instruction that
 * reads or grows its size.
 */
export function virtualizeMemory(
  m: binaryen.Module,
  index: Pick<KindIndex, "holds"> = WALK_EVERY_BODY,
): boolean {
  if (!m.hasMemory()) return false;
  const memory = m.getMemoryInfo();
  if (memory.is64) return false;
  const sites: number[] = [];
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const func = m.getFunctionByIndex(i);
    const body = functionGetBody(func);
    if (body !== 0 && index.holds(func, body, SIZE_KINDS)) sites.push(func);
  }
  if (sites.length === 0) return false;
  const { i32 } = binaryen;
  m.addGlobal(PAGES, i32, true, m.i32.const(memory.initial));
  addGrow(m);
  const pages = () => m.global.get(PAGES, i32);
  for (const func of sites) {
    const body = functionGetBody(func);
    const next = walk(body, {
      leave: (expr, kind) => {
        if (kind === SIZE) return pages();
        if (kind === GROW_ID) return m.call(GROW, [growGetDelta(expr)], i32);
        return expr;
      },
    });
    if (next !== body) c("FunctionSetBody")(func, next);
  }
  m.addGlobalExport(PAGES, MEMORY_PAGES_EXPORT);
  return true;
}

/**
 * `(delta) -> old size or -1`, as `memory.grow` answers: fails past 65,536
 * pages or when the engine's memory cannot grow to the new size (its maximum
 * is the sandbox's cap, memory.ts); else grows the engine's memory for what
 * it lacks and zeroes the pages it already had in the new range (an earlier
 * call's, put out of reach by a reset).
 */
function addGrow(m: binaryen.Module): void {
  const { i32 } = binaryen;
  // Params: 0 delta. Locals: 1 old size, 2 new size, 3 the engine's size, 4 pages to zero,
  // 5 half of them.
  const delta = () => m.local.get(0, i32);
  const old = () => m.local.get(1, i32);
  const wanted = () => m.local.get(2, i32);
  const engine = () => m.local.get(3, i32);
  const bytes = (pages: Expr) => m.i32.shl(pages, m.i32.const(PAGE_SHIFT));
  const minU = (a: () => Expr, b: () => Expr) => m.select(m.i32.lt_u(a(), b()), a(), b());
  const body = m.block(null, [
    m.local.set(1, m.global.get(PAGES, i32)),
    // The new size in 64 bits: old + delta cannot wrap past it.
    m.if(
      m.i64.gt_u(
        m.i64.add(m.i64.extend_u(old()), m.i64.extend_u(delta())),
        m.i64.const(BigInt(MAX_PAGES) as unknown as number),
      ),
      m.return(m.i32.const(-1)),
    ),
    m.local.set(2, m.i32.add(old(), delta())),
    m.local.set(3, m.memory.size()),
    m.if(
      m.i32.gt_u(wanted(), engine()),
      m.if(
        m.i32.eq(m.memory.grow(m.i32.sub(wanted(), engine())), m.i32.const(-1)),
        m.return(m.i32.const(-1)),
      ),
    ),
    // Pages the engine had before: zero those the new range covers, in two halves so that no
    // length reaches 2^32 bytes (65,536 pages would wrap to 0 in i32).
    m.if(
      m.i32.lt_u(old(), engine()),
      m.block(null, [
        m.local.set(4, m.i32.sub(minU(wanted, engine), old())),
        m.local.set(5, m.i32.shr_u(m.local.get(4, i32), m.i32.const(1))),
        m.memory.fill(bytes(old()), m.i32.const(0), bytes(m.local.get(5, i32))),
        m.memory.fill(
          bytes(m.i32.add(old(), m.local.get(5, i32))),
          m.i32.const(0),
          bytes(m.i32.sub(m.local.get(4, i32), m.local.get(5, i32))),
        ),
      ]),
    ),
    m.global.set(PAGES, wanted()),
    old(),
  ], i32);
  m.addFunction(GROW, i32, i32, [i32, i32, i32, i32, i32], body);
}
