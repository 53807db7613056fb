/**
 * Resetting a main-thread instance to its state right after instantiation, so
 * a strict run (docs/replay.md) sees no state of earlier calls without paying
 * for a new instance. Only modules the instrumenter marked resettable
 * (instrument/state.ts: one exported memory, every mutable global exported,
 * no code that changes a table or drops a segment) and without WASI (whose
 * state lives in the host's WASI object) qualify. A memory that grew cannot
 * shrink back: the first pages are put back and the size the module's code
 * sees goes back with its global (instrument/virtual-memory.ts); a module
 * without that global is retired instead.
 * @module
 */
import { readSections, SectionId } from "../artifact/mod.ts";
import { PAGE_BYTES } from "./page.ts";

/** Exported immutable global that marks a module whose state can be reset (see instrument/state.ts). */
export const RESETTABLE_EXPORT = "plughost_resettable";
/**
 * Exported mutable global holding the memory size the module's code sees, in pages
 * (instrument/virtual-memory.ts); part of the state, so a reset puts it back.
 */
export const MEMORY_PAGES_EXPORT = "plughost_memory_pages";
/** Prefix of the exports the instrumenter adds for mutable globals the module did not export. */
export const STATE_GLOBAL_PREFIX = "plughost_state_";
/** The exports of write tracking (instrument/dirty.ts). */
export const DIRTY_EXPORTS = {
  /** (shift: i32): sets the chunk size to 2^shift bytes and clears the mask. */
  init: "plughost_dirty_init",
  /** (): i64: the mask of chunks written since the last take; clears it. */
  take: "plughost_dirty_take",
  /** (at: i32, length: i32): marks the chunks of a range the host wrote. */
  mark: "plughost_dirty_mark",
} as const;

/** The state of one instance at one moment. */
export class Snapshot {
  /** Each page's bytes, or null when the page was all zeros (restored with a fill). */
  readonly #pages: (Uint8Array | null)[];
  readonly #globals: [WebAssembly.Global, unknown][];
  readonly #tracker: WriteTracker | null;
  /** The module's code reads the memory's size from {@link MEMORY_PAGES_EXPORT}. */
  readonly #sized: boolean;
  /** The shared copy these pages come from, held so it lives as long as an instance uses it. */
  readonly #shared: FirstStateCopy | null;

  private constructor(
    readonly memory: WebAssembly.Memory | undefined,
    pages: (Uint8Array | null)[],
    globals: [WebAssembly.Global, unknown][],
    tracker: WriteTracker | null,
    sized: boolean,
    shared: FirstStateCopy | null,
  ) {
    this.#pages = pages;
    this.#globals = globals;
    this.#tracker = tracker;
    this.#sized = sized;
    this.#shared = shared;
  }

  /**
   * Takes the state of an instance: its memory's pages and its exported
   * mutable globals. A module with write tracking (instrument/dirty.ts) gets
   * its chunk size here and its mask cleared, so later restores copy back
   * only what was written since. With `first` (a module whose instantiation
   * runs none of its code), the first instance's copy serves every later one.
   */
  static take(exports: WebAssembly.Exports, first: FirstState | null = null): Snapshot {
    let memory: WebAssembly.Memory | undefined;
    const globalExports: [string, WebAssembly.Global][] = [];
    for (const [name, value] of Object.entries(exports)) {
      if (value instanceof WebAssembly.Memory) memory = value;
      else if (value instanceof WebAssembly.Global) globalExports.push([name, value]);
    }
    const size = memory ? memory.buffer.byteLength : 0;
    const tracker = memory ? WriteTracker.of(exports, size) : null;
    const sized = exports[MEMORY_PAGES_EXPORT] instanceof WebAssembly.Global;
    const known = first?.state(size);
    if (known) {
      const globals = known.globals.map(([name, value]): [WebAssembly.Global, unknown] => [
        exports[name] as WebAssembly.Global,
        value,
      ]);
      return new Snapshot(memory, known.pages, globals, tracker, sized, known);
    }
    const kept: [string, unknown][] = [];
    const globals: [WebAssembly.Global, unknown][] = [];
    for (const [name, global] of globalExports) {
      if (!isMutable(global)) continue;
      kept.push([name, global.value]);
      globals.push([global, global.value]);
    }
    const pages: (Uint8Array | null)[] = [];
    if (memory) {
      const bytes = new Uint8Array(memory.buffer);
      for (let at = 0; at < bytes.byteLength; at += PAGE_BYTES) {
        const page = bytes.subarray(at, at + PAGE_BYTES);
        pages.push(
          allZero(new Int32Array(memory.buffer, at, PAGE_BYTES / 4)) ? null : page.slice(),
        );
      }
    }
    const copy = first ? { size, pages, globals: kept } : null;
    if (copy) first?.keep(copy);
    return new Snapshot(memory, pages, globals, tracker, sized, copy);
  }

  /**
   * This state as the input of a worker instance's `plughost_restore`
   * (worker-restore.ts): the memory's pages, each global as an integer and
   * as float64 bits (the module reads the one its type needs; JavaScript
   * does not tell an i32 from an f64), then the non-zero words in runs.
   */
  image(): Uint8Array {
    const runs: [number, Uint8Array][] = [];
    this.#pages.forEach((page, i) => {
      if (page) {
        for (const [at, bytes] of nonZeroRuns(page)) runs.push([i * PAGE_BYTES + at, bytes]);
      }
    });
    const head = 8 + 16 * this.#globals.length;
    const size = runs.reduce((sum, [, bytes]) => sum + 8 + bytes.byteLength, head);
    const image = new Uint8Array(size);
    const view = new DataView(image.buffer);
    view.setBigUint64(0, BigInt(this.#pages.length), true);
    this.#globals.forEach(([, value], i) => {
      const at = 8 + 16 * i;
      if (typeof value === "bigint") view.setBigInt64(at, value, true);
      else if (typeof value === "number") {
        if (Number.isInteger(value)) view.setBigInt64(at, BigInt(value), true);
        view.setFloat64(at + 8, value, true);
      }
    });
    let at = head;
    for (const [offset, bytes] of runs) {
      view.setUint32(at, offset, true);
      view.setUint32(at + 4, bytes.byteLength, true);
      image.set(bytes, at + 8);
      at += 8 + bytes.byteLength;
    }
    return image;
  }

  /**
   * Puts the instance back to this state; false when it cannot: its memory grew
   * and the module's code does not read its size from {@link MEMORY_PAGES_EXPORT}.
   * Pages past the first ones are left as they are: out of the code's reach
   * until a grow hands them out again, zeroed.
   */
  restore(): boolean {
    if (this.memory) {
      const bytes = new Uint8Array(this.memory.buffer);
      const size = this.#pages.length * PAGE_BYTES;
      if (bytes.byteLength !== size && !(this.#sized && bytes.byteLength > size)) return false;
      if (this.#tracker) {
        for (const [from, to] of this.#tracker.written()) this.#restoreRange(bytes, from, to);
      } else {
        this.#restoreRange(bytes, 0, size);
      }
    }
    for (const [global, value] of this.#globals) global.value = value;
    return true;
  }

  /** Bytes [from, to) back to the snapshot's, page by page; runs of zero pages in one fill. */
  #restoreRange(bytes: Uint8Array, from: number, to: number): void {
    let zeroFrom = -1;
    for (let at = from; at < to;) {
      const i = Math.floor(at / PAGE_BYTES);
      const end = Math.min(to, (i + 1) * PAGE_BYTES);
      const page = this.#pages[i];
      if (page === null) {
        if (zeroFrom < 0) zeroFrom = at;
      } else {
        if (zeroFrom >= 0) bytes.fill(0, zeroFrom, at);
        zeroFrom = -1;
        if (page) bytes.set(page.subarray(at - i * PAGE_BYTES, end - i * PAGE_BYTES), at);
      }
      at = end;
    }
    if (zeroFrom >= 0) bytes.fill(0, zeroFrom, to);
  }
}

/** Exports Extism runs when it instantiates a module (WASI's `_initialize` and `_start` too). */
const INSTANTIATION_EXPORTS = ["_initialize", "_start", "hs_init"];

/** A first state as {@link FirstState} keeps it: the memory's size, its pages, globals by name. */
interface FirstStateCopy {
  size: number;
  pages: (Uint8Array | null)[];
  globals: [string, unknown][];
}

/**
 * The state right after instantiation of a module whose instantiation runs
 * none of its code: no start section and none of the exports Extism runs.
 * That state is then a function of the module's bytes alone (its data
 * segments and constant global initializers), the same for every instance,
 * so the first instance's copy serves them all. A strict call that grows the
 * memory needs a new instance, and a Rust module's allocator grows it on its
 * first allocation, so without this every such call read the new instance's
 * whole memory (17 pages, fresh, so page faults too: ~0.8 ms of a 1.7 ms call).
 * The pages are shared and never written (restores read them). The copy is
 * held weakly: the snapshots of live instances hold it, so once the plugin's
 * instances are gone (the compiled module may stay in the compile cache) a
 * copy of up to the memory cap is not kept for nothing.
 */
export class FirstState {
  #copy: WeakRef<FirstStateCopy> | null = null;
  /** How many snapshots this copy served instead of a read of the instance (for tests). */
  served = 0;

  private constructor() {}

  /** A holder for the module `bytes` when its instantiation runs no code of its own; else null. */
  static of(bytes: Uint8Array, exportNames: readonly string[]): FirstState | null {
    if (exportNames.some((name) => INSTANTIATION_EXPORTS.includes(name))) return null;
    if (readSections(bytes).some((section) => section.id === SectionId.start)) return null;
    return new FirstState();
  }

  /** The kept copy when there is one for a memory of `size` bytes. */
  state(size: number): FirstStateCopy | null {
    const copy = this.#copy?.deref();
    if (copy === undefined || copy.size !== size) return null;
    this.served++;
    return copy;
  }

  /** Keeps `copy` when no copy is held any more. */
  keep(copy: FirstStateCopy): void {
    if (this.#copy?.deref() === undefined) this.#copy = new WeakRef(copy);
  }

  /** Whether a copy is held (for tests). */
  get held(): boolean {
    return this.#copy?.deref() !== undefined;
  }
}

/** The host's side of a module's write tracking (instrument/dirty.ts). */
class WriteTracker {
  private constructor(
    private readonly take: () => bigint,
    /** Each chunk is 2^shift bytes; 64 of them cover the memory as the snapshot saw it. */
    private readonly shift: number,
    private readonly size: number,
  ) {}

  /** The tracker of a module that has one, set up for a memory of `size` bytes; else null. */
  static of(exports: WebAssembly.Exports, size: number): WriteTracker | null {
    const init = exports[DIRTY_EXPORTS.init];
    const take = exports[DIRTY_EXPORTS.take];
    if (typeof init !== "function" || typeof take !== "function" || size === 0) return null;
    let shift = MIN_CHUNK_SHIFT;
    while (2 ** shift * CHUNKS < size) shift++;
    (init as (shift: number) => void)(shift);
    return new WriteTracker(take as () => bigint, shift, size);
  }

  /**
   * The byte ranges written since the last call, merged, and clears the mask.
   * A store marks the chunk of its first byte and may spill into the next
   * one by up to {@link MAX_STORE_BYTES} - 1 bytes: each range covers that.
   */
  written(): [number, number][] {
    const mask = this.take();
    const ranges: [number, number][] = [];
    if (mask === 0n) return ranges;
    const halves = [Number(mask & 0xffff_ffffn), Number(mask >> 32n)];
    const chunk = 2 ** this.shift;
    for (let i = 0; i < CHUNKS; i++) {
      if (((halves[i >> 5] as number) >>> (i & 31) & 1) === 0) continue;
      const from = i * chunk;
      if (from >= this.size) break;
      const to = Math.min(this.size, from + chunk + MAX_STORE_BYTES);
      const last = ranges[ranges.length - 1];
      if (last && last[1] >= from) last[1] = to;
      else ranges.push([from, to]);
    }
    return ranges;
  }
}

/** Chunks in the mask (one i64). */
const CHUNKS = 64;
/** Smallest chunk: 4 KiB, below which the per-range overhead outweighs the bytes. */
const MIN_CHUNK_SHIFT = 12;
/** The widest store (v128). */
const MAX_STORE_BYTES = 16;

/** Zero words a run may bridge: shorter gaps cost less as data than as a new run's header and loop. */
const BRIDGE_WORDS = 8;

/** The non-zero words of one page as [byte offset in the page, bytes] runs. */
function nonZeroRuns(page: Uint8Array): [number, Uint8Array][] {
  const words = new BigUint64Array(page.buffer, page.byteOffset, page.byteLength / 8);
  const runs: [number, Uint8Array][] = [];
  let start = -1;
  let lastNonZero = -1;
  for (let i = 0; i <= words.length; i++) {
    const nonZero = i < words.length && words[i] !== 0n;
    if (nonZero) {
      if (start < 0) start = i;
      lastNonZero = i;
    } else if (start >= 0 && (i === words.length || i - lastNonZero > BRIDGE_WORDS)) {
      runs.push([start * 8, page.subarray(start * 8, (lastNonZero + 1) * 8)]);
      start = -1;
    }
  }
  return runs;
}

function allZero(words: Int32Array): boolean {
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/** Whether an exported global can be written (JavaScript sees no mutability flag). */
function isMutable(global: WebAssembly.Global): boolean {
  try {
    const value: unknown = global.value;
    global.value = value;
    return true;
  } catch {
    return false;
  }
}
