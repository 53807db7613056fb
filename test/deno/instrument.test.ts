/**
 * The instrumenter on Deno: same bytes in, same fuel figures out as on Node
 * (the figures are shared with host/sandbox/instrument/fuel.test.ts).
 * Run: npx deno test -A test/deno/instrument.test.ts
 */
import assert from "node:assert/strict";
import {
  BULK_FILL_FIGURES,
  BULK_PAGES,
  BULK_WAT,
  FIGURES,
  FIGURES_WAT,
} from "../../host/sandbox/instrument/_fixtures.ts";
import { instantiate, metered, wat } from "../../host/sandbox/instrument/_testing.ts";
import { instrument } from "../../host/sandbox/instrument/mod.ts";

Deno.test("metering gives the same fuel figures on Deno as on Node", () => {
  const instance = instantiate(instrument(wat(FIGURES_WAT), { memoryMaxPages: 1 }).bytes);
  for (const [fn, arg, result, fuel] of FIGURES) {
    for (let run = 0; run < 3; run++) {
      const r = metered(instance, fn, 1n << 40n, arg);
      assert.deepEqual([fn, arg, r.value, r.used], [fn, arg, result, fuel]);
    }
  }
});

Deno.test("an infinite loop traps on Deno with the global below zero", () => {
  const out = instrument(wat(`(module (func (export "spin") (loop $l (br $l))))`), {
    memoryMaxPages: 1,
  });
  const r = metered(instantiate(out.bytes), "spin", 1_000_000n);
  assert.ok(r.error instanceof WebAssembly.RuntimeError);
  assert.ok(r.left < 0n);
});

Deno.test("memory.grow past the cap returns -1 on Deno", () => {
  const out = instrument(
    wat(`(module (memory 1) (func (export "grow") (param i32) (result i32)
      (memory.grow (local.get 0))))`),
    { memoryMaxPages: 2 },
  );
  const instance = instantiate(out.bytes);
  assert.equal(metered(instance, "grow", 1000n, 1).value, 1);
  assert.equal(metered(instance, "grow", 1000n, 1).value, -1);
});

Deno.test("memory.fill costs the same fuel by length on Deno as on Node", () => {
  const instance = instantiate(
    instrument(wat(BULK_WAT), { memoryMaxPages: BULK_PAGES }).bytes,
  );
  for (const [length, fuel] of BULK_FILL_FIGURES) {
    assert.deepEqual([length, metered(instance, "fill", 1n << 40n, length).used], [length, fuel]);
  }
  const r = metered(instance, "copy", 1_000_000n, 10_000);
  assert.ok(r.error instanceof WebAssembly.RuntimeError);
  assert.ok(r.left < 0n);
});
