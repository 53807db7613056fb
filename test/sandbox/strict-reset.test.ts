/**
 * Strict runs reuse an instance reset to its state right after instantiation
 * (host/sandbox/reset.ts, docs/replay.md "Fresh instances"): such a run sees no
 * state an earlier call left (a global the module does not export, its memory,
 * an Extism var), while no new instance is made for it; an instance whose
 * memory grew cannot be reset and is replaced. Best-effort runs keep state.
 * @module
 */
import { afterAll, describe, expect, it } from "vitest";
import wabtInit from "wabt";
import { loadPlugin, type SandboxedPlugin } from "../../host/sandbox/mod.ts";
import { fixture } from "./fixtures.ts";

const open: SandboxedPlugin[] = [];
afterAll(async () => {
  await Promise.all(open.map((p) => p.close()));
});

async function stateful(): Promise<SandboxedPlugin> {
  const plugin = await loadPlugin(fixture("stateful"));
  open.push(plugin);
  expect(plugin.mode).toBe("main");
  return plugin;
}

/** [global count, memory count, var was set] after one call of `name`. */
async function bump(
  plugin: SandboxedPlugin,
  determinism: "strict" | "best-effort",
  name = "bump",
): Promise<number[]> {
  const result = await plugin.call(name, new Uint8Array(), { determinism });
  if (!result.ok) throw new Error(`${name} failed: ${result.error.message}`);
  return [...result.output];
}

describe("strict runs on a reset instance", () => {
  it("best-effort calls see the state earlier calls left", async () => {
    const plugin = await stateful();
    expect(await bump(plugin, "best-effort")).toEqual([1, 1, 0]);
    expect(await bump(plugin, "best-effort")).toEqual([2, 2, 1]);
    expect(plugin.instances).toBe(1);
  });

  it("a strict call sees none of it, and reuses the one instance", async () => {
    const plugin = await stateful();
    await bump(plugin, "best-effort");
    await bump(plugin, "best-effort");
    for (let i = 0; i < 5; i++) expect(await bump(plugin, "strict")).toEqual([1, 1, 0]);
    // The same fuel as on a new instance, call after call.
    const fuel = async (p: SandboxedPlugin) => {
      const result = await p.call("bump", new Uint8Array(), { determinism: "strict" });
      return result.usage.fuel;
    };
    const onNew = await fuel(await stateful());
    expect(onNew).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect(await fuel(plugin)).toBe(onNew);
    // Nor does a best-effort call after strict ones see more than one strict call's state.
    expect(await bump(plugin, "best-effort")).toEqual([2, 2, 1]);
    expect(plugin.instances).toBe(1);
  });

  it("an instance whose memory grew is reset too: its code sees the first size again", async () => {
    const plugin = await stateful();
    expect(await bump(plugin, "strict", "grow")).toEqual([1, 1, 0]);
    expect(await bump(plugin, "strict")).toEqual([1, 1, 0]);
    expect(await bump(plugin, "strict", "grow")).toEqual([1, 1, 0]);
    expect(plugin.instances).toBe(1);
  });

  it("a strict call on a reset grown instance sees the sizes, grow answers and zeroed pages of a new one", async () => {
    const plugin = await loadPlugin(fixture("grow-probe"));
    open.push(plugin);
    const probe = async (determinism: "strict" | "best-effort") => {
      const result = await plugin.call("probe", new Uint8Array(), { determinism });
      if (!result.ok) throw new Error(result.error.message);
      return { out: [...result.output], fuel: result.usage.fuel, pages: result.usage.memoryPages };
    };
    const fresh = await probe("strict");
    expect(fresh.out).toEqual([1, 0, 3]);
    expect(fresh.pages).toBe(3);
    // The pages the first call grew (and wrote 0xAB into) are handed out again, zeroed.
    for (let i = 0; i < 3; i++) expect(await probe("strict")).toEqual(fresh);
    expect(plugin.instances).toBe(1);
    // Best-effort keeps what the last call left: the size it grew to.
    expect((await probe("best-effort")).out).toEqual([3, 0, 5]);
  });

  it("a module whose state a reset cannot reach (a data.drop in a call) gets a new instance per strict call", async () => {
    const plugin = await loadPlugin(fixture("stateful-drop"));
    open.push(plugin);
    const strict = async () => {
      const result = await plugin.call("bump", new Uint8Array(), { determinism: "strict" });
      if (!result.ok) throw new Error(result.error.message);
      return [...result.output];
    };
    expect(await strict()).toEqual([1]);
    expect(await strict()).toEqual([1]);
    expect(await strict()).toEqual([1]);
    expect(plugin.instances).toBe(3);
  });
});

describe("strict runs on a reset worker instance", () => {
  async function numeric(): Promise<SandboxedPlugin> {
    const plugin = await loadPlugin(fixture("stateful-numeric"), { mode: "worker" });
    open.push(plugin);
    expect(plugin.mode).toBe("worker");
    return plugin;
  }

  it("puts memory, data and globals of each type back through plughost_restore, in the same worker", async () => {
    const plugin = await numeric();
    const fresh = [1, 1, 6, 1, 3, 5];
    expect(await bump(plugin, "best-effort")).toEqual(fresh);
    expect(await bump(plugin, "best-effort")).toEqual([2, 2, 7, 2, 5, 9]);
    for (let i = 0; i < 3; i++) expect(await bump(plugin, "strict")).toEqual(fresh);
    expect(plugin.instances).toBe(1);
    // The same fuel as on a new worker.
    const fuel = async (p: SandboxedPlugin) =>
      (await p.call("bump", new Uint8Array(), { determinism: "strict" })).usage.fuel;
    const onNew = await fuel(await numeric());
    expect(onNew).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect(await fuel(plugin)).toBe(onNew);
    expect(plugin.instances).toBe(1);
  });

  it("a worker whose memory grew is reset too, in the same worker", async () => {
    const plugin = await numeric();
    expect(await bump(plugin, "strict", "grow")).toEqual([1, 1, 6, 1, 3, 5]);
    expect(await bump(plugin, "strict")).toEqual([1, 1, 6, 1, 3, 5]);
    expect(plugin.instances).toBe(1);
  });

  it("there too a strict call sees the sizes, grow answers and zeroed pages of a new instance", async () => {
    const plugin = await loadPlugin(fixture("grow-probe"), { mode: "worker" });
    open.push(plugin);
    expect(plugin.mode).toBe("worker");
    const probe = async () => {
      const result = await plugin.call("probe", new Uint8Array(), { determinism: "strict" });
      if (!result.ok) throw new Error(result.error.message);
      return { out: [...result.output], fuel: result.usage.fuel, pages: result.usage.memoryPages };
    };
    const fresh = await probe();
    expect(fresh.out).toEqual([1, 0, 3]);
    expect(fresh.pages).toBe(3);
    for (let i = 0; i < 3; i++) expect(await probe()).toEqual(fresh);
    expect(plugin.instances).toBe(1);
  });

  it("a module with Extism vars (kept in the worker) gets a new worker per strict call", async () => {
    const plugin = await loadPlugin(fixture("stateful"), { mode: "worker" });
    open.push(plugin);
    expect(await bump(plugin, "strict")).toEqual([1, 1, 0]);
    expect(await bump(plugin, "strict")).toEqual([1, 1, 0]);
    expect(plugin.instances).toBe(2);
  });

  it("a call that traps leaves its instance reset, not replaced: the next call sees a fresh state", async () => {
    const outOfFuel = async (p: SandboxedPlugin) => {
      const result = await p.call("bump", new Uint8Array(), { determinism: "best-effort" }, {
        fuel: 10n,
      });
      expect(result.ok ? "ok" : result.error.class).toBe("fuel_exhausted");
    };
    const main = await stateful();
    expect(await bump(main, "best-effort")).toEqual([1, 1, 0]);
    expect(await bump(main, "best-effort")).toEqual([2, 2, 1]);
    await outOfFuel(main);
    // As on a new instance: the state the two calls left is gone.
    expect(await bump(main, "best-effort")).toEqual([1, 1, 0]);
    expect(main.instances).toBe(1);
    // A worker instance goes back by its restore image (one round trip, no new worker).
    const worker = await numeric();
    expect(await bump(worker, "best-effort")).toEqual([1, 1, 6, 1, 3, 5]);
    await outOfFuel(worker);
    expect(await bump(worker, "best-effort")).toEqual([1, 1, 6, 1, 3, 5]);
    expect(worker.instances).toBe(1);
  });
});

describe("the sandbox's own exports", () => {
  it("are not offered to callers: naming the write tracker's cannot make later resets miss writes", async () => {
    const wabt = await wabtInit();
    // 16 pages: write tracking (instrument/dirty.ts) adds plughost_dirty_init and friends.
    const parsed = wabt.parseWat(
      "tracked.wat",
      `(module
        (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
        (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
        (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
        (memory (export "memory") 16)
        (func (export "bump") (result i32) (local $out i64)
          (i32.store (i32.const 500000) (i32.add (i32.load (i32.const 500000)) (i32.const 1)))
          (local.set $out (call $alloc (i64.const 1)))
          (call $store_u8 (local.get $out) (i32.load (i32.const 500000)))
          (call $output_set (local.get $out) (i64.const 1))
          (i32.const 0)))`,
    );
    const bytes = parsed.toBinary({}).buffer;
    parsed.destroy();
    const plugin = await loadPlugin(bytes);
    open.push(plugin);
    expect(plugin.exports).toEqual(["bump"]);
    const named = await plugin.call("plughost_dirty_init", new Uint8Array(), {
      determinism: "strict",
    });
    expect(named.ok ? "ok" : named.error.class).toBe("load_error");
    for (let i = 0; i < 3; i++) expect(await bump(plugin, "strict")).toEqual([1]);
  });
});
