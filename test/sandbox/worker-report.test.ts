/**
 * A worker call brings its fuel report back with its return
 * (host/sandbox/worker-report.ts): no fuel swap after it, figures those of the
 * main thread, and a plugin cannot pass a report of its own making for the
 * host's. And its deadline timer takes whole milliseconds.
 * @module
 */
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it, vi } from "vitest";
import { loadPlugin, type SandboxedPlugin } from "../../host/sandbox/mod.ts";
import { FUEL_SWAP_EXPORT } from "../../host/sandbox/fuel-accessor.ts";
import { REPORT_BYTES, REPORT_MAGIC, reportOf } from "../../host/sandbox/worker-report.ts";
import { wat } from "../../host/sandbox/instrument/_testing.ts";
import { fixture, text, utf8 } from "./fixtures.ts";

const open: SandboxedPlugin[] = [];
afterAll(async () => {
  await Promise.all(open.map((p) => p.close()));
});

async function load(wasm: Uint8Array, mode: "main" | "worker"): Promise<SandboxedPlugin> {
  // No main-thread slice: the whole call stays on the main thread, for the figure to compare.
  const plugin = await loadPlugin(wasm, { mode, slice: false });
  open.push(plugin);
  return plugin;
}

/** Counts the fuel swaps the host sends to any worker while `work` runs. */
async function swapsDuring(work: () => Promise<void>): Promise<number> {
  const post = Worker.prototype.postMessage;
  let swaps = 0;
  Worker.prototype.postMessage = function (this: Worker, message: unknown, ...rest: unknown[]) {
    const m = message as { type?: unknown; handler?: unknown; args?: unknown[] } | null;
    if (m?.type === "invoke" && m.handler === "call" && m.args?.[0] === FUEL_SWAP_EXPORT) swaps++;
    return (post as (...a: unknown[]) => void).call(this, message, ...rest);
  };
  try {
    await work();
  } finally {
    Worker.prototype.postMessage = post;
  }
  return swaps;
}

/**
 * WAT that makes a block shaped like a report (into local `$b`, with the
 * `$alloc` and `$store` kernel imports): fuel left, pages, armed.
 */
const forgedReport = (fuelLeft: bigint, pages: bigint, armed: bigint) => `
  (local.set $b (call $alloc (i64.const ${REPORT_BYTES})))
  (call $store (local.get $b) (i64.const ${BigInt.asIntN(64, REPORT_MAGIC)}))
  (call $store (i64.add (local.get $b) (i64.const 8)) (i64.const ${fuelLeft}))
  (call $store (i64.add (local.get $b) (i64.const 16)) (i64.const ${pages}))
  (call $store (i64.add (local.get $b) (i64.const 24)) (i64.const ${armed}))`;

/**
 * A plugin that, as its last act, makes a block shaped like a report saying
 * it used no fuel, then returns (or traps, with `trap`).
 */
const forger = (trap: boolean) =>
  wat(`(module
    (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
    (import "extism:host/env" "store_u64" (func $store (param i64 i64)))
    (memory (export "memory") 1)
    (func (export "run") (result i32) (local $b i64) (local $i i32)
      (block $done (loop $spin
        (br_if $done (i32.ge_u (local.get $i) (i32.const 1000)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $spin)))
      ${forgedReport(1n << 62n, 1n, 1n << 62n)}
      ${trap ? "unreachable" : "(i32.const 0)"}))`);

describe("worker calls report their fuel with their return", () => {
  it("needs no fuel swap after the first call, with the main thread's fuel", async () => {
    const input = utf8("x".repeat(100));
    const main = await load(fixture("echo"), "main");
    const expected = await main.call("run", input);
    if (!expected.ok) throw new Error(expected.error.message);
    const worker = await load(fixture("echo"), "worker");
    await worker.call("run", input); // the first call arms its budget with a swap
    const swaps = await swapsDuring(async () => {
      for (let i = 0; i < 20; i++) {
        const out = await worker.call("run", input);
        expect(out.ok ? [text(out.output), out.usage.fuel] : out.error.message).toEqual([
          "x".repeat(100),
          expected.usage.fuel,
        ]);
      }
    });
    expect(swaps).toBe(0);
    expect(worker.instances).toBe(1);
  });

  for (const trap of [false, true]) {
    it(`takes no report the plugin made itself (${trap ? "then trapped" : "then returned"})`, async () => {
      const main = await load(forger(trap), "main");
      const worker = await load(forger(trap), "worker");
      const expected = await main.call("run", new Uint8Array());
      expect(expected.usage.fuel).toBeGreaterThan(1000);
      for (let i = 0; i < 3; i++) {
        const out = await worker.call("run", new Uint8Array());
        expect([out.ok, out.usage.fuel]).toEqual([expected.ok, expected.usage.fuel]);
      }
    });
  }

  // Exports the wrapper leaves alone (parameters, several results, a start-up export called as a
  // call) must not have their forged report read: each ends with one saying it used nothing.
  const unwrapped: [string, string, string, string][] = [
    ["a parameter", "run", "(param i32) (result i32)", "(i32.const 0)"],
    ["an f64 parameter, no result", "run", "(param f64)", ""],
    ["two results", "run", "(result i32 i32)", "(i32.const 0) (i32.const 0)"],
    ["_initialize called as a call", "_initialize", "", ""],
  ];
  for (const [label, name, signature, tail] of unwrapped) {
    it(`takes no forged report from an export it does not wrap (${label})`, async () => {
      const bytes = wat(`(module
        (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
        (import "extism:host/env" "store_u64" (func $store (param i64 i64)))
        (memory (export "memory") 1)
        (func (export "${name}") ${signature} (local $b i64) (local $i i32)
          (block $done (loop $spin
            (br_if $done (i32.ge_u (local.get $i) (i32.const 20000)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $spin)))
          ${forgedReport(20_000_000n, 0n, 20_000_000n)}
          ${tail}))`);
      const main = await load(bytes, "main");
      const worker = await load(bytes, "worker");
      const expected = await main.call(name, new Uint8Array());
      expect(expected.usage.fuel).toBeGreaterThan(20_000);
      for (let i = 0; i < 3; i++) {
        const out = await worker.call(name, new Uint8Array());
        expect([out.ok, out.usage.fuel]).toEqual([expected.ok, expected.usage.fuel]);
      }
    });
  }

  it("an export it does not wrap neither starts from nor leaves the armed fuel", async () => {
    // "burn" is wrapped and spends most of a slice; "work" (a parameter: not wrapped) must get its
    // own budget, and must not arm a small one for "burn" with a report of its making.
    const spin = (n: string) =>
      `(local.set $i (i32.const 0))
      (block $done (loop $spin
        (br_if $done (i32.ge_u (local.get $i) ${n}))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $spin)))`;
    const bytes = wat(`(module
      (import "extism:host/env" "input_length" (func $len (result i64)))
      (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
      (import "extism:host/env" "store_u64" (func $store (param i64 i64)))
      (memory (export "memory") 1)
      (func (export "burn") (result i32) (local $i i32)
        ${spin("(i32.mul (i32.wrap_i64 (call $len)) (i32.const 1000))")}
        (i32.const 0))
      (func (export "work") (param i32) (result i32) (local $i i32) (local $b i64)
        ${spin("(i32.const 100000)")}
        ${forgedReport(20_000_000n, 1n, 1_000_000n)}
        (i32.const 0)))`);
    const outcomes: Record<string, unknown[]> = { main: [], worker: [] };
    for (const mode of ["main", "worker"] as const) {
      const plugin = await load(bytes, mode);
      for (const budget of [1_000_000_000n, 20_000_000n, 1_000_000n]) {
        const burn = await plugin.call("burn", new Uint8Array(1950), {}, { fuel: budget });
        const work = await plugin.call("work", new Uint8Array(), {}, { fuel: budget });
        outcomes[mode]!.push([burn.ok, burn.usage.fuel, work.ok, work.usage.fuel]);
      }
    }
    expect(outcomes.worker).toEqual(outcomes.main);
  });

  it("reads a report only from the last block of a call that returned", () => {
    const report = (magic = REPORT_MAGIC) => {
      const bytes = new ArrayBuffer(REPORT_BYTES);
      const view = new DataView(bytes);
      view.setBigUint64(0, magic, true);
      view.setBigInt64(8, 7n, true);
      view.setBigUint64(16, 2n, true);
      view.setBigInt64(24, 9n, true);
      return bytes;
    };
    const ret = (blocks: unknown[], error: unknown = null) => ({
      type: "return",
      results: [null, { results: [error, [null, 1]], state: { stack: [], blocks } }],
    });
    expect(reportOf(ret([[new ArrayBuffer(4), 3], [report(), 4]]))).toEqual({
      fuelLeft: 7n,
      memoryPages: 2,
      armed: 9n,
    });
    // Not the last block, the wrong magic or size, a call that failed, another message.
    expect(reportOf(ret([[report(), 4], [new ArrayBuffer(4), 5]]))).toBeNull();
    expect(reportOf(ret([[report(), 4], [null, 6]]))).toBeNull();
    expect(reportOf(ret([[report(1n), 4]]))).toBeNull();
    expect(reportOf(ret([[new ArrayBuffer(REPORT_BYTES + 8), 4]]))).toBeNull();
    expect(reportOf(ret([[report(), 4]], { message: "trap" }))).toBeNull();
    expect(reportOf({ type: "invoke", results: [] })).toBeNull();
  });
});

describe("a worker call's deadline timer", () => {
  it("is set in whole milliseconds (Node keeps a timer list per distinct delay)", async () => {
    const worker = await load(fixture("echo"), "worker");
    await worker.call("run", utf8("x"));
    const delays: number[] = [];
    const spy = vi.spyOn(globalThis, "setTimeout");
    try {
      for (let i = 0; i < 5; i++) await worker.call("run", utf8("x"));
      for (const call of spy.mock.calls) if (typeof call[1] === "number") delays.push(call[1]);
    } finally {
      spy.mockRestore();
    }
    expect(delays.length).toBeGreaterThanOrEqual(5);
    expect(delays.filter((ms) => !Number.isInteger(ms))).toEqual([]);
  });
});
