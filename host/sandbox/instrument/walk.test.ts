import { describe, expect, it } from "vitest";
import { HostError } from "../../errors.ts";
import { concat, encodeSection, encodeUleb, WASM_HEADER } from "../../artifact/mod.ts";
import { instantiate, metered } from "./_testing.ts";
import { instrument } from "./mod.ts";

/** A module of one function, `count: (i32) -> i32` with one i32 local, from its code. */
function countModule(code: number[]): Uint8Array {
  const body = [0x01, 0x01, 0x7f, ...code, 0x0b];
  const name = [...new TextEncoder().encode("count")];
  return concat([
    WASM_HEADER,
    encodeSection(1, [1, 0x60, 1, 0x7f, 1, 0x7f]),
    encodeSection(3, [1, 0]),
    encodeSection(7, [1, name.length, ...name, 0, 0]),
    encodeSection(10, [1, ...encodeUleb(body.length), ...body]),
  ]);
}

const repeat = (times: number, code: number[]) =>
  new Array<number>(times).fill(0).flatMap(() => code);

/** `count(n)`: a counted loop inside `depth` nested blocks (built as bytes: wabt runs out of memory). */
function nestedLoop(depth: number): Uint8Array {
  return countModule([
    ...repeat(depth, [0x02, 0x40]), // block
    0x03,
    0x40, // loop
    0x20,
    0x01,
    0x41,
    0x01,
    0x6a,
    0x21,
    0x01, // $i = $i + 1
    0x20,
    0x01,
    0x20,
    0x00,
    0x49,
    0x0d,
    0x00, // br_if 0 ($i < $n)
    0x0b,
    ...repeat(depth, [0x0b]),
    0x20,
    0x01,
  ]);
}

/** `count(n)`: n added to itself `depth` times, one expression nested `depth` deep. */
function nestedSum(depth: number): Uint8Array {
  return countModule([0x20, 0x00, ...repeat(depth, [0x20, 0x00, 0x6a])]);
}

const options = { memoryMaxPages: 1, startFuel: 1_000_000n };

describe("walking deeply nested code", () => {
  it("meters code nested thousands of blocks deep (GHC's output nests ~1,700), exactly", () => {
    // Past the depth where walking by recursion ran out of JavaScript stack (~2,000 here).
    const used = (depth: number) => {
      const instance = instantiate(instrument(nestedLoop(depth), options).bytes);
      const run = metered(instance, "count", 1_000_000n, 100);
      expect(run.value).toBe(100);
      return run.used;
    };
    const shallow = used(1);
    // Each block is one more node in the entry region; the loop's own charge is the same.
    expect(used(4_000)).toBe(shallow + 3_999n);
  });

  it("refuses code nested past what the instrumenter can read with a load_error that says so", () => {
    let thrown: unknown;
    try {
      instrument(nestedSum(100_000), options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HostError);
    expect((thrown as HostError).code).toBe("load_error");
    expect((thrown as HostError).message).toMatch(/nests its code too deeply/);
    // And the instrumenter is sound afterwards: the same module instruments the same way.
    const a = instrument(nestedLoop(3), options).bytes;
    const b = instrument(nestedLoop(3), options).bytes;
    expect(a).toEqual(b);
    expect(metered(instantiate(a), "count", 1_000_000n, 7).value).toBe(7);
  });
});
