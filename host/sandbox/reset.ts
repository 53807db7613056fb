/**
 * Resetting a main-thread instance to its state right after instantiation, so
 * a strict run (docs/replay.md) sees no state of earlier calls without paying
 * for a new instance. Only modules the instrumenter marked resettable
 * (instrument/state.ts: one exported memory, every mutable global exported,
 * no code that changes a table or drops a segment) and without WASI (whose
 * state lives in the host's WASI object) qualify. A memory that grew cannot
 * shrink back: that instance is not resettable any more and is retired.
 * @module
 */
import { PAGE_BYTES } from "./limits.ts";

/** Exported immutable global that marks a module whose state can be reset (see instrument/state.ts). */
export const RESETTABLE_EXPORT = "plughost_resettable";
/** Prefix of the exports the instrumenter adds for mutable globals the module did not export. */
export const STATE_GLOBAL_PREFIX = "plughost_state_";

/** The state of one instance at one moment. */
export class Snapshot {
  /** Each page's bytes, or null when the page was all zeros (restored with a fill). */
  readonly #pages: (Uint8Array | null)[];
  readonly #globals: [WebAssembly.Global, unknown][];

  private constructor(
    readonly memory: WebAssembly.Memory | undefined,
    pages: (Uint8Array | null)[],
    globals: [WebAssembly.Global, unknown][],
  ) {
    this.#pages = pages;
    this.#globals = globals;
  }

  /** Takes the state of an instance: its memory's pages and its exported mutable globals. */
  static take(exports: WebAssembly.Exports): Snapshot {
    let memory: WebAssembly.Memory | undefined;
    const globals: [WebAssembly.Global, unknown][] = [];
    for (const value of Object.values(exports)) {
      if (value instanceof WebAssembly.Memory) memory = value;
      else if (value instanceof WebAssembly.Global && isMutable(value)) {
        globals.push([value, value.value]);
      }
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
    return new Snapshot(memory, pages, globals);
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

  /** Puts the instance back to this state; false when it cannot (its memory grew). */
  restore(): boolean {
    if (this.memory) {
      const bytes = new Uint8Array(this.memory.buffer);
      if (bytes.byteLength !== this.#pages.length * PAGE_BYTES) return false;
      // Runs of zero pages in one fill each: most of a fresh memory is zeros.
      let zeroFrom = -1;
      for (let i = 0; i <= this.#pages.length; i++) {
        const page = i < this.#pages.length ? this.#pages[i] : undefined;
        if (page === null) {
          if (zeroFrom < 0) zeroFrom = i;
          continue;
        }
        if (zeroFrom >= 0) {
          bytes.fill(0, zeroFrom * PAGE_BYTES, i * PAGE_BYTES);
          zeroFrom = -1;
        }
        if (page) bytes.set(page, i * PAGE_BYTES);
      }
    }
    for (const [global, value] of this.#globals) global.value = value;
    return true;
  }
}

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
