/**
 * The pinned WASI functions the instrumenter puts in front of WASI's clock and
 * random (wasi-entropy.ts), run directly: pinned answers, errno on bad
 * arguments, forwarding when not pinned, and refusals.
 */
import { describe, expect, it } from "vitest";
import { ENTROPY_GLOBALS, PINNED_TICK_NS, pinnedEntropy, splitmix64 } from "../entropy.ts";
import { instrument } from "./instrument.ts";
import { instantiate, wat } from "./_testing.ts";

const MODULE = `(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $time (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_res_get" (func $res (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "time") (param i32 i32) (result i32) (call $time (local.get 0) (i64.const 1) (local.get 1)))
  (func (export "res") (param i32 i32) (result i32) (call $res (local.get 0) (local.get 1)))
  (func (export "random") (param i32 i32) (result i32) (call $random (local.get 0) (local.get 1))))`;

interface Exports {
  memory: WebAssembly.Memory;
  time(id: number, out: number): number;
  res(id: number, out: number): number;
  random(buf: number, len: number): number;
}

/** The instrumented module with a fake WASI that records its calls and answers errno 0. */
function load() {
  const calls: string[] = [];
  const { bytes } = instrument(wat(MODULE), { memoryMaxPages: 1 });
  const instance = instantiate(bytes, {
    wasi_snapshot_preview1: {
      clock_time_get: (id: number, _p: bigint, out: number) => (calls.push(`time ${id} ${out}`), 0),
      clock_res_get: (id: number, out: number) => (calls.push(`res ${id} ${out}`), 0),
      random_get: (buf: number, len: number) => (calls.push(`random ${buf} ${len}`), 0),
    },
  });
  const exports = instance.exports as unknown as Exports & Record<string, WebAssembly.Global>;
  exports["plughost_fuel"]!.value = 1_000_000_000n;
  const pin = (seed: string) => {
    const state = pinnedEntropy(seed);
    exports[ENTROPY_GLOBALS.pinned]!.value = 1;
    exports[ENTROPY_GLOBALS.clock]!.value = state.clock;
    exports[ENTROPY_GLOBALS.rng]!.value = state.rng;
  };
  return { exports, calls, pin };
}

const SEED = "00000000000000050000000000000007";

describe("pinned WASI entropy", () => {
  it("answers the clock from the seed, 1 ms per read, for every clock id", () => {
    const { exports, calls, pin } = load();
    pin(SEED);
    const view = () => new DataView(exports.memory.buffer);
    const start = pinnedEntropy(SEED).clock;
    expect(start).toBe(1_704_067_200_000_000_000n + 5n * PINNED_TICK_NS);
    expect(exports.time(0, 64)).toBe(0);
    expect(view().getBigUint64(64, true)).toBe(start);
    expect(exports.time(1, 64)).toBe(0);
    expect(view().getBigUint64(64, true)).toBe(start + PINNED_TICK_NS);
    expect(exports.res(3, 72)).toBe(0);
    expect(view().getBigUint64(72, true)).toBe(PINNED_TICK_NS);
    expect(exports.time(4, 64)).toBe(28); // EINVAL: no such clock
    expect(exports.time(0, 65536 - 4)).toBe(21); // EFAULT: 8 bytes do not fit
    expect(exports.res(0, -1)).toBe(21);
    expect(calls).toEqual([]);
  });

  it("streams splitmix64 from the seed across calls, and refuses a buffer outside memory", () => {
    const { exports, calls, pin } = load();
    pin(SEED);
    expect(exports.random(100, 5)).toBe(0);
    expect(exports.random(105, 11)).toBe(0);
    let state = 7n;
    const expected: number[] = [];
    for (let word = 0; word < 3; word++) {
      const next = splitmix64(state);
      state = next.state;
      for (let i = 0n; i < 8n; i++) expected.push(Number((next.value >> (8n * i)) & 0xffn));
    }
    // Each call starts a fresh 8-byte word: bytes 5..7 of the first word are never seen.
    const seen = Array.from(new Uint8Array(exports.memory.buffer, 100, 16));
    expect(seen.slice(0, 5)).toEqual(expected.slice(0, 5));
    expect(seen.slice(5)).toEqual(expected.slice(8, 19));
    expect(exports.random(65530, 7)).toBe(21);
    expect(calls).toEqual([]);
  });

  it("starts pinned at clock 0 and generator state 0, before any call sets the globals", () => {
    const { exports, calls } = load();
    const view = () => new DataView(exports.memory.buffer);
    expect(exports.time(1, 0)).toBe(0);
    expect(view().getBigUint64(0, true)).toBe(0n);
    expect(exports.time(0, 0)).toBe(0);
    expect(view().getBigUint64(0, true)).toBe(PINNED_TICK_NS);
    expect(exports.random(8, 8)).toBe(0);
    expect(view().getBigUint64(8, true)).toBe(splitmix64(0n).value);
    expect(calls).toEqual([]);
  });

  it("forwards to the runtime's WASI when not pinned", () => {
    const { exports, calls } = load();
    // The globals start pinned (for start code): unpin as the host does for a best-effort call.
    (exports as unknown as Record<string, WebAssembly.Global>)[ENTROPY_GLOBALS.pinned]!.value = 0;
    expect(exports.time(2, 8)).toBe(0);
    expect(exports.res(1, 16)).toBe(0);
    expect(exports.random(24, 3)).toBe(0);
    expect(calls).toEqual(["time 2 8", "res 1 16", "random 24 3"]);
  });

  it("leaves a module without WASI clock or random as it was, and refuses a foreign signature", () => {
    const plain = instrument(wat(`(module (memory (export "memory") 1))`), { memoryMaxPages: 1 });
    const names = WebAssembly.Module.exports(new WebAssembly.Module(plain.bytes as BufferSource))
      .map((e) => e.name);
    expect(names).not.toContain(ENTROPY_GLOBALS.pinned);
    const odd = wat(`(module
      (import "wasi_snapshot_preview1" "random_get" (func (param i32) (result i32)))
      (memory (export "memory") 1))`);
    expect(() => instrument(odd, { memoryMaxPages: 1 })).toThrow(/random_get.*signature/);
  });
});
