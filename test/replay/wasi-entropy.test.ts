/**
 * Pinned WASI entropy (docs/replay.md, "Entropy"): a strict run of a plugin
 * granted WASI reads a clock and random bytes derived from its seed (exactly
 * the documented values), two seeds give two answers, a replay reproduces the
 * output digest and fuel, and main-thread and worker instances agree. A
 * best-effort run reads the real clock and lists the entropy.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type ReplayDeps, replayRun } from "../../host/core/replay.ts";
import { PINNED_TICK_NS, pinnedEntropy, splitmix64 } from "../../host/sandbox/entropy.ts";
import { loadPlugin } from "../../host/sandbox/mod.ts";
import { signPlugin } from "../../host/trust/mod.ts";
import { type TestHost, testHost } from "../capabilities/harness.ts";
import { fixture } from "../sandbox/fixtures.ts";

let t: TestHost | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const ID = "test.wasi-entropy";
/** The fuel of one strict call of the fixture (fixed: the fixture, the meter and the pinned code). */
const PINNED_CALL_FUEL = 7170;

/** The fixture signed with WASI granted, as capability `pinned` (strict) and `live` (best-effort). */
async function loadFixture(host: TestHost): Promise<void> {
  const manifest = {
    schemaVersion: 1,
    id: ID,
    version: "1.0.0",
    name: "WASI entropy",
    engines: { host: "^0.1.0", abi: 1 },
    capabilities: {
      pinned: { export: "run", determinism: "strict" },
      live: { export: "run", determinism: "best-effort" },
    },
    permissions: { wasi: true },
  };
  const signed = await signPlugin(fixture("wasi-entropy"), host.key, {
    manifest: JSON.stringify(manifest),
  });
  await host.host.runtime.load(signed.wasm, "test:wasi-entropy");
}

/** The fixture's 40 output bytes: two realtime reads, the resolution, 16 random bytes. */
function parse(output: Uint8Array) {
  expect(output.byteLength).toBe(40);
  const view = new DataView(output.buffer, output.byteOffset, output.byteLength);
  return {
    time1: view.getBigUint64(0, true),
    time2: view.getBigUint64(8, true),
    resolution: view.getBigUint64(16, true),
    random: Array.from(output.subarray(24)),
  };
}

/** What the documented generator gives for `seed`: two splitmix64 outputs, little-endian. */
function expectedRandom(seed: string): number[] {
  let state = pinnedEntropy(seed).rng;
  const bytes: number[] = [];
  for (let word = 0; word < 2; word++) {
    const next = splitmix64(state);
    state = next.state;
    for (let i = 0n; i < 8n; i++) bytes.push(Number((next.value >> (8n * i)) & 0xffn));
  }
  return bytes;
}

function deps(host: TestHost["host"]): ReplayDeps {
  return {
    runs: host.store.runs,
    replay: host.store.replay,
    get: (id) => host.runtime.get(id),
    invoke: (request) => host.runtime.invoke(request),
  };
}

describe("WASI entropy in strict runs", () => {
  it("pins the clock and random to the run's seed, and the replay is identical (digest and fuel)", async () => {
    t = await testHost();
    await loadFixture(t);
    const first = await t.call(ID, "pinned");
    if (!first.ok) throw new Error(`${first.error.class}: ${first.error.message}`);
    const recorded = (await t.host.store.replay.get(first.runId))!;
    expect(recorded).toMatchObject({ mode: "strict", entropy: [], unreplayable: null });
    const seen = parse(first.output);
    const pinned = pinnedEntropy(recorded.seed);
    expect(seen.time1).toBe(pinned.clock);
    expect(seen.time2).toBe(pinned.clock + PINNED_TICK_NS);
    expect(seen.resolution).toBe(PINNED_TICK_NS);
    expect(seen.random).toEqual(expectedRandom(recorded.seed));

    // Another run, another seed: another instant and other bytes.
    const second = await t.call(ID, "pinned");
    if (!second.ok) throw new Error(second.error.message);
    const secondSeed = (await t.host.store.replay.get(second.runId))!.seed;
    expect(secondSeed).not.toBe(recorded.seed);
    expect(parse(second.output).time1).toBe(pinnedEntropy(secondSeed).clock);
    expect(parse(second.output).random).not.toEqual(seen.random);

    const report = await replayRun(deps(t.host), first.runId);
    expect(report).toMatchObject({ match: true, differences: [], mode: "strict" });
    expect(report.replay.outputDigest).toBe(report.original.outputDigest);
    expect(report.replay.fuel).toBe(report.original.fuel);
    expect(report.original.fuel).toBeGreaterThan(0);
  });

  it("gives the same answer and fuel on the main thread and in a worker", async () => {
    const seed = "0123456789abcdef0fedcba987654321";
    const context = { determinism: "strict" as const, seed };
    const results = [];
    for (const mode of ["main", "worker"] as const) {
      const plugin = await loadPlugin(fixture("wasi-entropy"), { wasi: true, mode });
      try {
        // Twice on the same instance: the pinned state is set again for each call.
        for (let i = 0; i < 2; i++) {
          const result = await plugin.call("run", new Uint8Array(), context);
          if (!result.ok) throw new Error(`${mode}: ${result.error.message}`);
          results.push({ output: Array.from(result.output), fuel: result.usage.fuel });
        }
      } finally {
        await plugin.close();
      }
    }
    expect(parse(new Uint8Array(results[0]!.output)).time1).toBe(pinnedEntropy(seed).clock);
    expect(parse(new Uint8Array(results[0]!.output)).random).toEqual(expectedRandom(seed));
    for (const result of results) expect(result).toEqual(results[0]);
    // The same figure on Node and on Deno (this file runs on both): the pinned functions are wasm.
    expect(results[0]!.fuel).toBe(PINNED_CALL_FUEL);
  });
});

describe("WASI entropy in best-effort runs", () => {
  it("reads the real clock and records the entropy sources", async () => {
    t = await testHost();
    await loadFixture(t);
    const before = BigInt(Date.now()) * 1_000_000n;
    const run = await t.call(ID, "live");
    const after = BigInt(Date.now()) * 1_000_000n;
    if (!run.ok) throw new Error(`${run.error.class}: ${run.error.message}`);
    const seen = parse(run.output);
    // The runtime's realtime clock, within the call (1 ms slack for clock granularity).
    expect(seen.time1 >= before - 1_000_000n && seen.time1 <= after + 1_000_000n).toBe(true);
    expect(seen.time2 >= seen.time1).toBe(true);
    expect(await t.host.store.replay.get(run.runId)).toMatchObject({
      mode: "best-effort",
      entropy: ["wasi.clock", "wasi.random"],
    });
  });
});
