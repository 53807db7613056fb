/**
 * One WAT module and the exact fuel each call must use, shared by the Node
 * (vitest) and Deno tests so both runtimes are held to the same figures.
 * Changing the cost model changes these numbers on purpose.
 * @module
 */

/** Kernels: a counted loop, calls inside a loop, and recursion. */
export const FIGURES_WAT = `(module
  (memory 1)
  (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i))
  (func (export "calls") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (call $leaf (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $acc))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2))))))))`;

/** [export, argument, result, fuel used]. */
export const FIGURES: [string, number, number, bigint][] = [
  ["count", 10, 10, 93n],
  ["count", 1000, 1000, 9003n],
  ["calls", 10, 55, 202n],
  ["fib", 15, 610, 27622n],
];

/**
 * Bulk memory operations, charged by length: `fill` fills $n bytes; `copy`
 * copies 16 MiB $n times (the loop that held the event loop for seconds
 * when a copy cost 1 fuel whatever its length).
 */
export const BULK_WAT = `(module
  (memory 512)
  (func (export "fill") (param $n i32)
    (memory.fill (i32.const 0) (i32.const 7) (local.get $n)))
  (func (export "copy") (param $n i32) (local $i i32)
    (loop $l
      (memory.copy (i32.const 0) (i32.const 16777216) (i32.const 16777216))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))`;

/** Memory pages BULK_WAT needs (32 MiB). */
export const BULK_PAGES = 512;

/**
 * Fuel of BULK_WAT's `fill` by length: 4 for its nodes plus 1 per whole 64
 * bytes (16 MiB = 262,144). [length, fuel used].
 */
export const BULK_FILL_FIGURES: [number, bigint][] = [
  [0, 4n],
  [63, 4n],
  [64, 5n],
  [16 << 20, 262_148n],
];
