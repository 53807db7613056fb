/**
 * Cold start: time until 1, 10 and 100 signed plugins are loaded and ready to
 * call (runtime.load in sequence, as loadInstalled does: verify the signature,
 * instrument with binaryen, compile, instantiate on the main thread), with a
 * cold compiled-module cache (plugins this process never saw) and warm (the
 * same plugins loaded again by a new runtime: host/sandbox/compile.ts keeps the
 * last 32 compiled modules in memory, by digest). Then where the cold time
 * goes, phase by phase, on the same modules.
 * Run: node scripts/run-ts.mjs test/bench/coldstart.bench.ts [--quick]
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { createRuntime } from "../../host/runtime/mod.ts";
import { instrument } from "../../host/sandbox/instrument/mod.ts";
import { openStore } from "../../host/store/mod.ts";
import { verifyPlugin } from "../../host/trust/mod.ts";
import { newKey, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";
import { quick, ratios, Reporter } from "./_stats.ts";

const counts = [1, 10, 100];
// 100 plugins take seconds per load (binaryen): fewer rounds there, and in --quick no warm
// pass and no phase split (per-plugin phase costs are measured at 1 and 10).
const roundsFor = (n: number) => n >= 100 ? (quick ? 1 : 2) : quick ? 2 : 5;
const fullFor = (n: number) => n < 100 || !quick;
const phasesFor = (n: number) => n < 100;
const report = new Reporter("coldstart");
const dir = mkdtempSync(join(tmpdir(), "plughost-coldstart-"));
const store = await openStore({ url: `file:${join(dir, "host.db")}` });
const key = await newKey();
const trust = trustStoreOf(key);
let serial = 0;

/** `n` signed hello plugins with ids this process has not loaded yet (so nothing is cached). */
async function freshPlugins(n: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const id = `bench.cold${serial++}`;
    out.push(
      await signedFirstParty("hello", key, (m) => {
        m["id"] = id;
      }),
    );
  }
  return out;
}

/** Loads every plugin into a new runtime; ms until the last is ready. */
async function loadAll(plugins: Uint8Array[]): Promise<number> {
  const runtime = createRuntime({ store, trust, hostFunctions: capabilityProvider() });
  const t0 = performance.now();
  for (const wasm of plugins) await runtime.load(wasm, "bench");
  const ms = performance.now() - t0;
  await runtime.close();
  return ms;
}

try {
  await loadAll(await freshPlugins(3)); // binaryen and the store warm up once per process
  for (const n of counts) {
    const cold: number[] = [];
    const warm: number[] = [];
    const verify: number[] = [];
    const instr: number[] = [];
    const compile: number[] = [];
    for (let r = 0; r < roundsFor(n); r++) {
      const plugins = await freshPlugins(n);
      cold.push(await loadAll(plugins));
      // At 100 the warm pass mostly misses the 32-entry cache: one round shows it.
      if (fullFor(n) && (n < 100 || r === 0)) warm.push(await loadAll(plugins));
      if (!phasesFor(n)) continue;
      // The phases alone, on the same modules.
      let t0 = performance.now();
      for (const wasm of plugins) await verifyPlugin(wasm, trust);
      verify.push(performance.now() - t0);
      const rewritten: Uint8Array[] = [];
      t0 = performance.now();
      for (const wasm of plugins) {
        rewritten.push((await instrument(wasm, { memoryMaxPages: 16 })).bytes);
      }
      instr.push(performance.now() - t0);
      t0 = performance.now();
      for (const bytes of rewritten) await WebAssembly.compile(bytes as BufferSource);
      compile.push(performance.now() - t0);
    }
    report.figure(`cold.${n}.cold_ms`, `${n} plugin(s): ready, cold cache`, "ms", cold);
    if (fullFor(n)) {
      report.figure(
        `cold.${n}.warm_ms`,
        `${n} plugin(s): ready, warm compiled-module cache`,
        "ms",
        warm,
      );
      report.figure(
        `cold.${n}.warm_vs_cold`,
        `${n} plugin(s): ratio warm / cold (per round)`,
        "x",
        ratios(warm, cold),
      );
    }
    if (!phasesFor(n)) continue;
    report.figure(`cold.${n}.verify_ms`, `${n} plugin(s): verify signatures only`, "ms", verify);
    report.figure(
      `cold.${n}.instrument_ms`,
      `${n} plugin(s): instrument only (binaryen)`,
      "ms",
      instr,
    );
    report.figure(
      `cold.${n}.compile_ms`,
      `${n} plugin(s): WebAssembly.compile only`,
      "ms",
      compile,
    );
  }
  report.goal({
    id: "goal.cold",
    label: "6. 100 signed plugins ready in under 1 s (cold)",
    figure: "cold.100.cold_ms",
    target: 1000,
    kind: "max",
  });
  report.note(
    "Plugins are the first-party hello plugin signed under distinct ids (distinct digests). " +
      "The compiled-module cache holds 32 entries, so a warm load of 100 plugins mostly misses it.",
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
report.done();
