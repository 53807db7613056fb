import { describe, expect, it } from "vitest";
import { HostError } from "../../errors.ts";
import { BULK_FILL_FIGURES, BULK_PAGES, BULK_WAT, FIGURES, FIGURES_WAT } from "./_fixtures.ts";
import { instantiate, metered, wat } from "./_testing.ts";
import { HOST_CALL_FUEL } from "./costs.ts";
import { FUEL_EXPORT, instrument, workerVariant } from "./mod.ts";

const kernels = wat(`(module
  (memory 1)
  (func $spin (export "spin") (loop $l (br $l)))
  (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "leaf") (param i32) (result i32) (call $leaf (local.get 0)))
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
  (func (export "early") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (if (i32.eq (local.get $i) (local.get $n)) (then (return (i32.mul (local.get $i) (i32.const 10)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))
    (unreachable))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $deep (export "deep") (param i32) (result i32)
    (i32.add (i32.const 1) (call $deep (local.get 0))))
  (func (export "spin_in_callee") (param $n i32) (local $i i32)
    (loop $l
      (call $spin)
      (br $l)))
)`);

const BIG = 1_000_000_000_000n;

function setup() {
  const original = instantiate(kernels);
  const out = instrument(kernels, { memoryMaxPages: 16 });
  return { original, instance: instantiate(out.bytes), out };
}

describe("fuel metering", () => {
  it("exports the fuel global and reports it", () => {
    const { instance, out } = setup();
    expect(out.fuelGlobal).toBe(FUEL_EXPORT);
    expect(instance.exports.plughost_fuel).toBeInstanceOf(WebAssembly.Global);
  });

  it("an infinite loop traps once the budget is spent, leaving the global below zero", () => {
    const { instance } = setup();
    const r = metered(instance, "spin", 10_000n);
    expect(r.error).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(r.left).toBeLessThan(0n);
    expect(r.used).toBeGreaterThan(10_000n);
    expect(r.used).toBeLessThan(10_100n);
  });

  it("a loop inside a callee also traps, seen through the caller", () => {
    const { instance } = setup();
    const r = metered(instance, "spin_in_callee", 50_000n, 0);
    expect(r.error).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(r.left).toBeLessThan(0n);
  });

  it("a counted loop uses the same fuel on every run, and more for more iterations", () => {
    const { instance, original } = setup();
    const runs = [10, 10, 10, 100, 1000].map((n) => metered(instance, "count", BIG, n));
    expect(runs.map((r) => r.value)).toEqual([10, 10, 10, 100, 1000]);
    const [a, a2, a3, b, c] = runs.map((r) => r.used);
    expect(a2).toBe(a);
    expect(a3).toBe(a);
    expect(b).toBeGreaterThan(a as bigint);
    // Linear in the trip count: every iteration pays the same charge.
    const perIteration = ((b as bigint) - (a as bigint)) / 90n;
    expect(perIteration).toBeGreaterThan(0n);
    expect((b as bigint) - (a as bigint)).toBe(90n * perIteration);
    expect((c as bigint) - (b as bigint)).toBe(900n * perIteration);
    expect((original.exports.count as (n: number) => number)(1000)).toBe(1000);
  });

  it("fuel spent in callees is counted in the caller's total (counter synced around calls)", () => {
    const { instance } = setup();
    const leaf = metered(instance, "leaf", BIG, 1).used;
    const [one, two, three] = [1, 2, 3].map((n) => metered(instance, "calls", BIG, n).used);
    const step = (two as bigint) - (one as bigint);
    expect((three as bigint) - (two as bigint)).toBe(step);
    // Each iteration pays its loop charge plus the callee's entry charge.
    expect(step).toBeGreaterThan(leaf - 1n);
  });

  it("an early return from inside a loop keeps results and syncs the fuel", () => {
    const { instance, original } = setup();
    const r5 = metered(instance, "early", BIG, 5);
    const r6 = metered(instance, "early", BIG, 6);
    expect(r5.value).toBe((original.exports.early as (n: number) => number)(5));
    expect(r6.value).toBe(60);
    expect(r6.used).toBeGreaterThan(r5.used);
    expect(metered(instance, "early", BIG, 5).used).toBe(r5.used);
  });

  it("recursion gives the same results, deterministic fuel, and traps on a small budget", () => {
    const { instance, original } = setup();
    const fib = original.exports.fib as (n: number) => number;
    const r = metered(instance, "fib", BIG, 20);
    expect(r.value).toBe(fib(20));
    expect(metered(instance, "fib", BIG, 20).used).toBe(r.used);
    expect(metered(instance, "fib", BIG, 21).used).toBeGreaterThan(r.used);
    const small = metered(instance, "fib", 1000n, 25);
    expect(small.error).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(small.left).toBeLessThan(0n);
  });

  it("unbounded recursion with a huge budget ends in V8's stack overflow, not a fuel trap", () => {
    const { instance } = setup();
    const r = metered(instance, "deep", BIG, 0);
    expect(r.error).toBeInstanceOf(RangeError);
    expect(r.left).toBeGreaterThan(0n);
  });

  it("a start function with an infinite loop traps during instantiation", () => {
    const startSpin = wat(`(module (func $s (loop $l (br $l))) (start $s))`);
    const out = instrument(startSpin, { memoryMaxPages: 1, startFuel: 100_000n });
    expect(() => instantiate(out.bytes)).toThrow(WebAssembly.RuntimeError);
  });

  it("a start function that ends runs within its start budget, which later calls can replace", () => {
    const module = wat(`(module (global $g (mut i32) (i32.const 0))
      (func $s (local $i i32) (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 100)))) (global.set $g (local.get $i)))
      (func (export "g") (result i32) (global.get $g)) (start $s))`);
    const out = instrument(module, { memoryMaxPages: 1, startFuel: 5_000n });
    const instance = instantiate(out.bytes);
    const left = (instance.exports.plughost_fuel as WebAssembly.Global).value as bigint;
    expect(left).toBeLessThan(5_000n);
    expect(left).toBeGreaterThan(0n);
    expect(metered(instance, "g", 10n).value).toBe(100);
  });

  it("instrumenting twice gives the same bytes", () => {
    const a = instrument(kernels, { memoryMaxPages: 16 }).bytes;
    const b = instrument(kernels, { memoryMaxPages: 16 }).bytes;
    expect(b).toEqual(a);
  });

  it("meter: false caps memory only and adds no global", () => {
    const out = instrument(kernels, { memoryMaxPages: 16, meter: false });
    expect(out.fuelGlobal).toBeNull();
    const instance = instantiate(out.bytes);
    expect(instance.exports.plughost_fuel).toBeUndefined();
    expect((instance.exports.fib as (n: number) => number)(10)).toBe(55);
  });

  it("refuses a module that already exports plughost_fuel", () => {
    const clash = wat(`(module (global (export "plughost_fuel") i64 (i64.const 0)))`);
    expect(() => instrument(clash, { memoryMaxPages: 1 })).toThrow(HostError);
    expect(() => instrument(clash, { memoryMaxPages: 1 })).toThrow(/plughost_fuel/);
  });

  it("refuses any export under the reserved plughost_ prefix, metered or not", () => {
    // A module's own plughost_resettable would have marked it resettable with hidden state left out.
    for (const name of ["plughost_resettable", "plughost_restore", "plughost_state_0"]) {
      const clash = wat(`(module (global (export "${name}") i32 (i32.const 1)))`);
      expect(() => instrument(clash, { memoryMaxPages: 1 })).toThrow(new RegExp(name));
      expect(() => instrument(clash, { memoryMaxPages: 1, meter: false })).toThrow(HostError);
    }
  });

  it("rejects bad options with a usage error", () => {
    expect(() => instrument(kernels, { memoryMaxPages: 0 })).toThrow(/memoryMaxPages/);
    expect(() => instrument(kernels, { memoryMaxPages: 1, startFuel: -1n })).toThrow(/startFuel/);
  });

  it("uses the fuel figures shared with the Deno test", () => {
    const instance = instantiate(instrument(wat(FIGURES_WAT), { memoryMaxPages: 1 }).bytes);
    for (const [fn, arg, result, fuel] of FIGURES) {
      const r = metered(instance, fn, BIG, arg);
      expect([fn, arg, r.value, r.used]).toEqual([fn, arg, result, fuel]);
    }
  });
});

describe("the worker-mode variant", () => {
  const bytes = instrument(wat(FIGURES_WAT), { memoryMaxPages: 1 }).bytes;

  /** Instantiates it with inert stand-ins for the kernel functions it imports (unused here). */
  function variantInstance(variant: Uint8Array): WebAssembly.Instance {
    const imports: Record<string, Record<string, () => bigint>> = {};
    for (const i of WebAssembly.Module.imports(new WebAssembly.Module(variant as BufferSource))) {
      (imports[i.module] ??= {})[i.name] = () => 0n;
    }
    return instantiate(variant, imports);
  }

  it("charges the fuel of the metered module, call for call", () => {
    const variant = workerVariant(bytes);
    expect(WebAssembly.Module.exports(new WebAssembly.Module(variant as BufferSource)))
      .toContainEqual({ name: "plughost_fuel_swap", kind: "function" });
    const instance = variantInstance(variant);
    for (const [fn, arg, result, fuel] of FIGURES) {
      const r = metered(instance, fn, BIG, arg);
      expect([fn, arg, r.value, r.used]).toEqual([fn, arg, result, fuel]);
    }
  });

  it("is the same bytes each time", () => {
    expect(workerVariant(bytes)).toEqual(workerVariant(bytes));
  });

  it("refuses a module that is not metered, saying so", () => {
    const plain = instrument(kernels, { memoryMaxPages: 16, meter: false }).bytes;
    expect(() => workerVariant(plain)).toThrow(/metered module/);
    try {
      workerVariant(plain);
    } catch (error) {
      expect((error as HostError).code).toBe("load_error");
    }
  });
});

describe("bulk memory operations", () => {
  const instance = instantiate(instrument(wat(BULK_WAT), { memoryMaxPages: BULK_PAGES }).bytes);

  it("memory.fill costs 1 fuel per 64 bytes on top of its nodes (figures shared with Deno)", () => {
    for (const [length, fuel] of BULK_FILL_FIGURES) {
      expect([length, metered(instance, "fill", 1n << 40n, length).used]).toEqual([length, fuel]);
    }
  });

  it("a loop of 16 MiB copies runs out of fuel within a small budget", () => {
    const r = metered(instance, "copy", 1_000_000n, 10_000);
    expect(r.error).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(r.left).toBeLessThan(0n);
    // Each copy charges 262,144 before it runs: the 4th exhausts 1e6, after 3 ran.
    const perCopy = metered(instance, "copy", 1n << 40n, 2).used -
      metered(instance, "copy", 1n << 40n, 1).used;
    expect(perCopy).toBeGreaterThanOrEqual(262_144n);
  });

  it("a copy's length is charged even inside a host call's operands, in a looping function", () => {
    let fuelAtCall = -1n;
    const bytes = instrument(
      wat(`(module
        (import "env" "probe" (func $probe (param i32)))
        (memory 512)
        (func (export "run") (param $n i32) (local $i i32)
          (loop $l
            (call $probe (block (result i32)
              (memory.copy (i32.const 0) (i32.const 16777216) (i32.const 16777216))
              (local.get $i)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))`),
      { memoryMaxPages: BULK_PAGES },
    ).bytes;
    const inst = instantiate(bytes, {
      env: { probe: () => void (fuelAtCall = inst.exports.plughost_fuel.value as bigint) },
    }) as WebAssembly.Instance & { exports: { plughost_fuel: WebAssembly.Global } };
    const one = metered(inst, "run", 1n << 40n, 1);
    const two = metered(inst, "run", 1n << 40n, 2);
    expect(two.used - one.used).toBeGreaterThanOrEqual(262_144n);
    // The host saw the copy's charge already taken.
    expect((1n << 40n) - fuelAtCall).toBeGreaterThanOrEqual(2n * 262_144n);
  });
});

describe("host calls", () => {
  it("fuel spent in a metered call inside a host call's operands is counted", () => {
    const bytes = instrument(
      wat(`(module
        (import "env" "probe" (func $probe (param i32 i32)))
        (memory 1)
        (func $count (param $n i32) (result i32) (local $i i32)
          (loop $l
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
          (local.get $i))
        (func (export "f") (param $n i32)
          (call $probe (i32.const 0) (call $count (local.get $n))))
        (func (export "g") (param $n i32)
          (call $probe (call $count (local.get $n)) (unreachable))))`),
      { memoryMaxPages: 1 },
    ).bytes;
    const instance = instantiate(bytes, { env: { probe: () => {} } });
    // Each iteration of $count costs 9 (FIGURES: count 10 -> 93, 1000 -> 9003).
    const f = (n: number) => metered(instance, "f", 1n << 40n, n).used;
    expect(f(1000) - f(10)).toBe(9n * 990n);
    // An operand that never completes (no local of type unreachable): still a valid module.
    const g = metered(instance, "g", 1n << 40n, 1000);
    expect(g.error).toBeInstanceOf(WebAssembly.RuntimeError);
  });

  // Binaryen drops declarative element segments when it reads a module, so a table filled at
  // run time with a reference to an import looked import-free: 100,000 kernel calls through the
  // table cost 1.3 million fuel against 51.2 million called directly.
  for (
    const [how, refs] of [
      ["a declarative segment", `(elem declare func $probe)`],
      ["a global's initializer", `(global funcref (ref.func $probe))`],
      ["an export", `(export "p" (func $probe))`],
    ] as const
  ) {
    it(`charges a call_indirect as a host call when ${how} can take an import's reference`, () => {
      const module = (declare: string) =>
        wat(`(module
          (import "env" "probe" (func $probe))
          (type $t (func))
          (table 1 funcref)
          (memory 1)
          ${declare}
          (func (export "fill") (table.set (i32.const 0) (ref.func $probe)))
          (func (export "f") (param $n i32) (local $i i32)
            (loop $l
              (call_indirect (type $t) (i32.const 0))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))`);
      const run = (declare: string) => {
        const instance = instantiate(instrument(module(declare), { memoryMaxPages: 1 }).bytes, {
          env: { probe: () => {} },
        });
        metered(instance, "fill", 1n << 40n);
        return metered(instance, "f", 1n << 40n, 1000).used - metered(instance, "f", 1n << 40n, 10)
          .used;
      };
      // The same module with the import taken by reference the way the table sees it.
      const perCall = run(refs) / 990n;
      expect(perCall).toBeGreaterThanOrEqual(BigInt(HOST_CALL_FUEL));
    });
  }
});
