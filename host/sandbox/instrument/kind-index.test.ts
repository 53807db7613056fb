/**
 * The meter's record of what each body holds (kind-index.ts) answers the
 * later passes as walking the bodies would: the same instrumented bytes, and
 * the same answer for every function, on modules written to hit each case
 * and on real plugins.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import binaryen from "./binaryen.ts";
import { emit, read, WIDE_FEATURES } from "./binaryen-io.ts";
import { trackWrites } from "./dirty.ts";
import { type KindIndex, WALK_EVERY_BODY } from "./kind-index.ts";
import { meterModule } from "./meter.ts";
import { scanModule } from "./scan.ts";
import { exposeState } from "./state.ts";
import { virtualizeMemory } from "./virtual-memory.ts";
import { pinWasiEntropy } from "./wasi-entropy.ts";
import { containsKind } from "./walk.ts";
import { wat } from "./_testing.ts";
import {
  conformanceDir,
  conformanceTitle,
  hasConformance,
} from "../../../test/helpers/conformance.ts";
import { repoRoot } from "../../../test/helpers/cli.ts";

/** The kinds the passes after metering ask about. */
const ASKED = [
  new Set([binaryen.TableSetId, binaryen.TableGrowId, binaryen.DataDropId]),
  new Set([binaryen.MemorySizeId, binaryen.MemoryGrowId]),
];

/**
 * instrument.ts's passes, answered from the meter's record or by walking; the
 * bytes, and the record checked against a walk of every function at the end.
 */
function passes(wasm: Uint8Array, recorded: boolean): Uint8Array {
  const scan = scanModule(wasm);
  const m = read(wasm, "a test");
  try {
    m.setFeatures(m.getFeatures() | WIDE_FEATURES);
    pinWasiEntropy(m);
    const index = meterModule(m, 1000n, scan.importRefs);
    const asked: Pick<KindIndex, "holds"> = recorded ? index : WALK_EVERY_BODY;
    if (exposeState(m, scan.memories.length, asked)) {
      trackWrites(m);
      virtualizeMemory(m, asked);
    }
    for (let i = 0; i < m.getNumFunctions(); i++) {
      const func = m.getFunctionByIndex(i);
      const body = binaryen.getFunctionInfo(func).body;
      if (body === 0) continue;
      for (const kinds of ASKED) {
        // Virtualizing rewrote the size kinds away where it ran; the record is of before.
        if (kinds.has(binaryen.MemorySizeId)) continue;
        expect(index.holds(func, body, kinds)).toBe(containsKind(body, kinds));
      }
    }
    return emit(m);
  } finally {
    m.dispose();
  }
}

const HANDMADE = {
  // A table write outside the start function: not resettable.
  tableSet: wat(`(module
    (memory (export "memory") 1)
    (table 2 funcref)
    (func $f)
    (func (export "run") (table.set (i32.const 0) (ref.func $f)))
    (elem declare func $f))`),
  // A data drop in the start function only: resettable.
  dropInStart: wat(`(module
    (memory (export "memory") 1)
    (data $d "hi")
    (func $init (data.drop $d))
    (start $init)
    (func (export "run") (result i32) (i32.const 1)))`),
  // Memory size and growth in a leaf (which gets a fuel-free copy) and in a loop.
  sizes: wat(`(module
    (memory (export "memory") 1 4)
    (global $g (mut i32) (i32.const 0))
    (func $grow (result i32) (memory.grow (i32.const 1)))
    (func (export "run") (param $n i32) (result i32)
      (loop $l
        (global.set $g (i32.add (global.get $g) (memory.size)))
        (br_if $l (i32.gt_s (local.tee $n (i32.sub (local.get $n) (i32.const 1))) (i32.const 0))))
      (call $grow)))`),
};

describe("the meter's record of each body's kinds", () => {
  for (const [name, wasm] of Object.entries(HANDMADE)) {
    it(`answers as walking does: ${name}`, () => {
      expect(passes(wasm, true)).toEqual(passes(wasm, false));
    });
  }

  it("answers as walking does for the first-party plugins", () => {
    const dir = join(repoRoot, "build", "plugins");
    const files = readdirSync(dir).filter((f) => f.endsWith(".raw.wasm"));
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const wasm = new Uint8Array(readFileSync(join(dir, file)));
      expect(passes(wasm, true), file).toEqual(passes(wasm, false));
    }
  }, 60_000);

  it.skipIf(!hasConformance)(
    conformanceTitle("answers as walking does for Extism's plugins"),
    () => {
      for (const file of ["alloc.wasm", "config.wasm", "var.wasm", "upper.wasm"]) {
        const wasm = new Uint8Array(readFileSync(join(conformanceDir, file)));
        expect(passes(wasm, true), file).toEqual(passes(wasm, false));
      }
    },
    60_000,
  );
});
