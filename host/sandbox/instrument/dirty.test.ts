/**
 * Write tracking (dirty.ts) and the partial reset it allows (reset.ts): after
 * any sequence of writes of every kind (stores of each width, SIMD lane
 * stores, stores inside another store's operands, memory.fill/copy/init and
 * the host's own writes), a restore puts the memory back byte for byte,
 * while it copies back only the chunks that were written.
 * @module
 */
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { instrument } from "./instrument.ts";
import { TRACK_MIN_PAGES } from "./dirty.ts";
import { instantiate, wat } from "./_testing.ts";
import { DIRTY_EXPORTS, Snapshot } from "../reset.ts";

const PAGES = 16;
const MEMORY_BYTES = PAGES * 65536;

const source = wat(`
(module
  (memory (export "memory") ${PAGES})
  (data (i32.const 100) "initial bytes of the first page")
  (data (i32.const 70000) "and of the second")
  (data $passive "passive segment bytes")
  (global $counter (mut i32) (i32.const 0))
  (func (export "store8") (param $at i32) (param $v i32) (i32.store8 (local.get $at) (local.get $v)))
  (func (export "store16") (param $at i32) (param $v i32) (i32.store16 offset=3 (local.get $at) (local.get $v)))
  (func (export "store32") (param $at i32) (param $v i32) (i32.store (local.get $at) (local.get $v)))
  (func (export "store64") (param $at i32) (param $v i32)
    (i64.store offset=7 (local.get $at) (i64.extend_i32_u (local.get $v))))
  (func (export "storef64") (param $at i32) (param $v i32)
    (f64.store (local.get $at) (f64.convert_i32_u (local.get $v))))
  (func (export "store128") (param $at i32) (param $v i32)
    (v128.store offset=1 (local.get $at) (i32x4.splat (local.get $v))))
  (func (export "lane64") (param $at i32) (param $v i32)
    (v128.store64_lane 1 (local.get $at) (i64x2.splat (i64.extend_i32_u (local.get $v)))))
  (func (export "nested") (param $at i32) (param $v i32)
    ;; A store in the value of another: the inner one must not clobber the outer's address.
    (i32.store
      (local.get $at)
      (block (result i32)
        (i32.store (i32.xor (local.get $at) (i32.const 0x10000)) (local.get $v))
        (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
        (local.get $v))))
  (func (export "nestedFill") (param $at i32) (param $v i32)
    ;; A fill in the operands of another: each must keep its own range.
    (memory.fill
      (local.get $at)
      (block (result i32)
        (memory.fill (i32.xor (local.get $at) (i32.const 0x8000)) (i32.const 7) (i32.const 5))
        (local.get $v))
      (i32.const 9)))
  (func (export "fill") (param $at i32) (param $v i32)
    (memory.fill (local.get $at) (local.get $v) (i32.and (local.get $v) (i32.const 0x7fff))))
  (func (export "copy") (param $at i32) (param $v i32)
    (memory.copy (local.get $at) (i32.const 90) (i32.and (local.get $v) (i32.const 0x3fff))))
  (func (export "init") (param $at i32) (param $v i32)
    (memory.init $passive (local.get $at) (i32.const 0) (i32.and (local.get $v) (i32.const 15))))
)
`);

const KINDS = [
  "store8",
  "store16",
  "store32",
  "store64",
  "storef64",
  "store128",
  "lane64",
  "nested",
  "nestedFill",
  "fill",
  "copy",
  "init",
  "host",
] as const;
type Kind = (typeof KINDS)[number];

function load() {
  const { bytes } = instrument(source, { memoryMaxPages: PAGES + 1 });
  const instance = instantiate(bytes);
  const memory = instance.exports.memory as WebAssembly.Memory;
  const snapshot = Snapshot.take(instance.exports);
  const copy = new Uint8Array(memory.buffer).slice();
  const mark = instance.exports[DIRTY_EXPORTS.mark] as (at: number, n: number) => void;
  const apply = (kind: Kind, at: number, value: number, on = instance): void => {
    if (kind === "host") {
      const memory = on.exports.memory as WebAssembly.Memory;
      // The host's own write (bulk-io.ts): marked, then written.
      const from = Math.min(at, MEMORY_BYTES);
      const target = new Uint8Array(
        memory.buffer,
        from,
        Math.min(value & 0xfff, MEMORY_BYTES - from),
      );
      if (on === instance) mark(from, target.byteLength);
      target.fill(value & 0xff || 1);
      return;
    }
    try {
      (on.exports[kind] as (at: number, v: number) => void)(at, value);
    } catch {
      // Out of bounds: the engine wrote nothing, or the part it wrote is marked.
    }
  };
  /** Back to the snapshot behind the tracker's back (mask cleared), so each case starts clean. */
  const clean = () => {
    new Uint8Array(memory.buffer).set(copy);
    (instance.exports[DIRTY_EXPORTS.take] as () => bigint)();
  };
  return { memory, snapshot, copy, apply, clean };
}

/** The module as written, for what the writes must do. */
const reference = () => instantiate(source);

const chunkBytes = 16384; // 16 pages: 64 chunks of 16 KiB cover them

/** The first index where the two differ, or -1: memcmp first (a case compares over 1 MiB twice). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length === b.length && Buffer.compare(a, b) === 0) return -1;
  return a.findIndex((byte, i) => byte !== b[i]);
}

describe("write tracking and the partial reset", () => {
  it("puts the memory back byte for byte after any writes, of every kind", () => {
    const { memory, snapshot, copy, apply, clean } = load();
    const plain = reference();
    const plainBytes = new Uint8Array((plain.exports.memory as WebAssembly.Memory).buffer);
    const op = fc.record({
      kind: fc.constantFrom(...KINDS),
      // Mostly inside memory, near chunk edges too, sometimes past its end.
      at: fc.oneof(
        fc.integer({ min: 0, max: MEMORY_BYTES - 1 }),
        fc.integer({ min: 1, max: 63 }).map((i) => i * chunkBytes - 1 - (i % 9)),
        fc.integer({ min: MEMORY_BYTES - 40, max: MEMORY_BYTES + 40 }),
      ),
      value: fc.integer({ min: 1, max: 0xffff }),
    });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 12 }), (ops) => {
        clean();
        plainBytes.set(copy);
        for (const { kind, at, value } of ops) {
          apply(kind, at, value);
          apply(kind, at, value, plain);
        }
        const now = new Uint8Array(memory.buffer);
        // The writes did what the module says (tracking changed no address or order)...
        expect(firstDifference(now, plainBytes), "first byte unlike the module's").toBe(-1);
        // ... and the reset undid all of them.
        expect(snapshot.restore()).toBe(true);
        const first = firstDifference(now, copy);
        expect(first, `first differing byte after ${JSON.stringify(ops)}`).toBe(-1);
      }),
      { numRuns: 400 },
    );
  });

  it("copies back only the chunks that were written", () => {
    const { memory, snapshot, copy, apply } = load();
    const bytes = new Uint8Array(memory.buffer);
    // A write the tracker cannot see, in the chunk below the plugin's store: a full reset
    // would undo it, the partial one leaves it.
    const untracked = 9 * chunkBytes + 100;
    bytes[untracked] = 0xee;
    apply("store32", 10 * chunkBytes + 8, 0x1234);
    expect(bytes[10 * chunkBytes + 8]).toBe(0x34);
    expect(snapshot.restore()).toBe(true);
    expect(bytes[10 * chunkBytes + 8]).toBe(copy[10 * chunkBytes + 8]);
    expect(bytes[untracked]).toBe(0xee);
    // With nothing written, nothing is copied.
    bytes[100] = 0xee;
    expect(snapshot.restore()).toBe(true);
    expect(bytes[100]).toBe(0xee);
  });

  it(`a memory under ${TRACK_MIN_PAGES} pages is not tracked: its reset is whole`, () => {
    const small = wat(`(module (memory (export "memory") 2)
      (func (export "store32") (param i32 i32) (i32.store (local.get 0) (local.get 1))))`);
    const { bytes } = instrument(small, { memoryMaxPages: 2 });
    const instance = instantiate(bytes);
    expect(instance.exports[DIRTY_EXPORTS.take]).toBeUndefined();
    const snapshot = Snapshot.take(instance.exports);
    const memory = new Uint8Array((instance.exports.memory as WebAssembly.Memory).buffer);
    memory[70_000] = 1; // behind the host's back: a whole reset undoes it too
    (instance.exports.store32 as (at: number, v: number) => void)(8, 5);
    expect(snapshot.restore()).toBe(true);
    expect([memory[8], memory[70_000]]).toEqual([0, 0]);
  });

  it("a grown memory is not reset", () => {
    const { memory, snapshot, apply } = load();
    memory.grow(1);
    apply("store32", MEMORY_BYTES + 100, 7);
    expect(snapshot.restore()).toBe(false);
  });
});
