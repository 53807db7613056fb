/**
 * Fuel parity: the same call costs the same fuel on the main thread and in a
 * worker (docs/metering.md, "Host calls"). hello and counter use the bulk-copy
 * host functions (ABI 1.1) through the AssemblyScript SDK, and counter calls
 * the KV host functions; each runs the same calls on a host whose plugins stay
 * on the main thread and on one whose plugins run in workers.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { createHost, type Host } from "../../host/host.ts";
import { loadPlugin } from "../../host/sandbox/mod.ts";

const calls = [
  { plugin: "example.hello", capability: "greet", input: { name: "Ada" } },
  { plugin: "example.hello", capability: "greet", input: { name: "Zoë ✓".repeat(50) } },
  { plugin: "example.hello", capability: "greet", input: undefined },
  { plugin: "example.counter", capability: "increment", input: {} },
  { plugin: "example.counter", capability: "increment", input: { by: 5 } },
  { plugin: "example.counter", capability: "get", input: undefined },
  { plugin: "example.counter", capability: "reset", input: undefined },
  { plugin: "example.counter", capability: "get", input: undefined },
];

interface Observed {
  ok: boolean;
  output: string;
  fuel: number | null;
  mode: string;
}

async function runAll(host: Host): Promise<Observed[]> {
  const seen: Observed[] = [];
  // Twice: the second round runs on instances that already served calls.
  for (let round = 0; round < 2; round++) {
    for (const c of calls) {
      const result = await host.invoke({
        pluginId: c.plugin,
        capability: c.capability,
        input: c.input === undefined
          ? new Uint8Array()
          : new TextEncoder().encode(JSON.stringify(c.input)),
        trigger: "cli",
        durable: true,
      });
      const run = (await host.runs.get(result.runId))!;
      seen.push({
        ok: result.ok,
        output: result.ok ? new TextDecoder().decode(result.output) : result.error.class,
        fuel: run.usage.fuel,
        mode: host.list().find((p) => p.id === c.plugin)!.mode,
      });
    }
  }
  return seen;
}

describe("fuel is the same on the main thread and in workers", () => {
  const homes: string[] = [];
  const hosts: Host[] = [];

  async function open(worker: boolean): Promise<Host> {
    const home = await mkdtemp(join(tmpdir(), "plughost-parity-"));
    homes.push(home);
    const capabilities = capabilityProvider();
    const host = await createHost({
      home,
      paths: { trust: resolve(".plughost/trust") },
      cache: false,
      // The real capabilities; `needsWorker` only moves the plugin's calls to workers.
      hostFunctions: (manifest, context) => {
        const set = capabilities(manifest, context);
        return worker ? { ...set, needsWorker: true } : set;
      },
    });
    hosts.push(host);
    for (const file of ["hello", "counter"]) {
      await host.load(await readFile(`build/plugins/${file}.wasm`), `${file}.wasm`);
    }
    return host;
  }

  let main: Observed[];
  let workers: Observed[];
  beforeAll(async () => {
    main = await runAll(await open(false));
    workers = await runAll(await open(true));
  }, 120_000);
  afterAll(async () => {
    for (const host of hosts) await host.close();
    for (const home of homes) await rm(home, { recursive: true, force: true });
  });

  it("the plugins ran where they were put", () => {
    expect(main.map((o) => o.mode)).toEqual(main.map(() => "main"));
    expect(workers.map((o) => o.mode)).toEqual(workers.map(() => "worker"));
  });

  it("each call gives the same output and the same fuel in both modes", () => {
    const strip = (list: Observed[]) => list.map(({ mode: _m, ...rest }) => rest);
    expect(strip(workers)).toEqual(strip(main));
    // Only hello's greet without input fails (it needs a name), in both rounds.
    const expectedOk = [...calls, ...calls].map((c) => c.plugin !== "example.hello" || !!c.input);
    expect(main.map((o) => o.ok)).toEqual(expectedOk);
  });
});

describe("a budget that runs out in a bulk copy", () => {
  // 64 KiB of input: reading it costs 1,048,576 fuel (16 per byte) in one bulk copy.
  const input = new TextEncoder().encode(JSON.stringify({ name: "x".repeat(65_536) }));

  async function outcome(mode: "main" | "worker", fuel?: bigint) {
    const plugin = await loadPlugin(await readFile("build/plugins/hello.wasm"), {
      mode,
      slice: false,
      ...(fuel === undefined ? {} : { limits: { fuel } }),
    });
    try {
      const result = await plugin.call("greet", input);
      return {
        class: result.ok ? "ok" : result.error.class,
        fuel: result.usage.fuel,
        output: result.ok ? result.output.byteLength : 0,
      };
    } finally {
      await plugin.close();
    }
  }

  it("ends the same way, with the same fuel, in both modes", async () => {
    const full = await outcome("main");
    expect(full.class).toBe("ok");
    expect(await outcome("worker")).toEqual(full);
    // Inside the input's copy, and one short of the whole call.
    for (const budget of [600_000n, BigInt(full.fuel - 1)]) {
      const main = await outcome("main", budget);
      expect(main).toEqual({ class: "fuel_exhausted", fuel: Number(budget), output: 0 });
      expect(await outcome("worker", budget)).toEqual(main);
    }
  }, 60_000);
});
