/**
 * Worker-mode calls arm the next call's fuel with the swap that reads the
 * last one's (host/sandbox/worker-instance.ts): the fuel a call uses and may
 * use must not depend on the call before it, and figures stay those of the
 * main thread.
 * @module
 */
import { afterAll, describe, expect, it } from "vitest";
import { loadPlugin, type SandboxedPlugin } from "../../host/sandbox/mod.ts";
import { fixture, text, utf8 } from "./fixtures.ts";

const open: SandboxedPlugin[] = [];
afterAll(async () => {
  await Promise.all(open.map((p) => p.close()));
});

async function echo(mode: "main" | "worker"): Promise<SandboxedPlugin> {
  const plugin = await loadPlugin(fixture("echo"), { mode });
  open.push(plugin);
  return plugin;
}

describe("worker-mode fuel between calls", () => {
  it("each call gets its own budget, whatever the last call had; fuel as on the main thread", async () => {
    const input = utf8("x".repeat(100));
    const main = await echo("main");
    const expected = await main.call("run", input);
    if (!expected.ok) throw new Error(expected.error.message);
    const fuel = expected.usage.fuel;
    const worker = await echo("worker");
    expect(worker.mode).toBe("worker");
    const run = (limits?: { fuel: bigint }, strict = false) =>
      worker.call("run", input, strict ? { determinism: "strict" } : {}, limits);
    // Budgets that change between calls, strict calls (a restore) among them.
    for (let i = 0; i < 40; i++) {
      const ok = await run(i % 3 === 0 ? { fuel: BigInt(fuel + i) } : undefined, i % 7 === 6);
      expect(ok.ok ? [text(ok.output), ok.usage.fuel] : ok.error.message).toEqual([
        "x".repeat(100),
        fuel,
      ]);
      if (i % 5 === 4) {
        // One unit short: the budget armed by the last call's report must not stand in for it.
        const short = await run({ fuel: BigInt(fuel - 1) });
        expect(short.ok ? "ok" : short.error.class).toBe("fuel_exhausted");
      }
    }
  });

  for (const mode of ["main", "worker"] as const) {
    it(`a call that runs out of fuel keeps its instance, and the next gets its own budget (${mode})`, async () => {
      const input = utf8("x".repeat(100));
      const plugin = await echo(mode);
      const full = await plugin.call("run", input);
      if (!full.ok) throw new Error(full.error.message);
      for (let i = 0; i < 5; i++) {
        const short = await plugin.call("run", input, {}, { fuel: BigInt(full.usage.fuel - 1) });
        expect(short.ok ? "ok" : short.error.class).toBe("fuel_exhausted");
        const again = await plugin.call("run", input, i % 2 ? { determinism: "strict" } : {});
        expect(again.ok ? [text(again.output), again.usage.fuel] : again.error.message).toEqual([
          "x".repeat(100),
          full.usage.fuel,
        ]);
      }
      // No instance (in worker mode: no worker) was started after the first.
      expect(plugin.instances).toBe(1);
    });
  }
});
