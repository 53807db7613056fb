/**
 * Cold start: time until 1, 10 and 100 signed plugins are loaded and ready to
 * call (runtime.load four at a time, as loadInstalled does: verify the
 * signature, instrument with binaryen on the instrumenter's threads, compile,
 * instantiate), with the
 * compiled-module cache on disk as `host serve` has it (openHost passes
 * paths.cache; host/sandbox/module-cache.ts):
 * - cold: plugins this process never saw and an empty cache directory;
 * - warm, same process: the same plugins loaded again by a new runtime (the
 *   in-memory cache keeps the last 32 modules, the rest come from disk);
 * - cold in a new process: the same plugins installed, then a new process
 *   loading them as `host serve` starts (loadInstalled: by dependency level,
 *   four at a time) with the cache directory emptied (test/bench/_coldload.ts;
 *   its own start-up is not counted);
 * - restart: the same again, with the cache that load wrote.
 * Then where the cold time goes, phase by phase, on the same modules.
 * Run: node scripts/run-ts.mjs test/bench/coldstart.bench.ts [--quick]
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { createRuntime, LOAD_CONCURRENCY } from "../../host/core/mod.ts";
import { instrument } from "../../host/sandbox/instrument/mod.ts";
import { openStore } from "../../host/store/mod.ts";
import { verifyPlugin } from "../../host/trust/mod.ts";
import { repoRoot } from "../helpers/cli.ts";
import { newKey, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";
import { writeKey } from "./_coldfiles.ts";
import { engine, quick, ratios, Reporter } from "./_stats.ts";

const counts = [1, 10, 100];
// 100 plugins take seconds per cold load (binaryen): fewer rounds there; in --quick no
// same-process warm pass at 100. Per-plugin phase costs are measured at 1 and 10.
const roundsFor = (n: number) => n >= 100 ? (quick ? 1 : 2) : quick ? 2 : 4;
const sameProcessWarm = (n: number) => n < 100 || !quick;
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

/**
 * Loads every plugin into a new runtime using `cacheDir`, LOAD_CONCURRENCY at a
 * time as `host serve` loads installed plugins; ms until the last is ready.
 */
async function loadAll(plugins: Uint8Array[], cacheDir: string): Promise<number> {
  const runtime = createRuntime({ store, trust, hostFunctions: capabilityProvider(), cacheDir });
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(LOAD_CONCURRENCY, plugins.length) }, async () => {
      while (next < plugins.length) await runtime.load(plugins[next++]!, "bench");
    }),
  );
  const ms = performance.now() - t0;
  await runtime.close();
  return ms;
}

/** Runs the restart child (_coldload.ts) on `roundDir`; its output. */
function child(roundDir: string, ...args: string[]): string {
  const file = join(repoRoot, "test/bench/_coldload.ts");
  // The same runtime as this process: Deno runs the TypeScript itself, Node through run-ts.mjs.
  const runner = engine === "deno"
    ? ["run", "-A", "--quiet", file]
    : [join(repoRoot, "scripts", "run-ts.mjs"), file];
  const run = spawnSync(process.execPath, [...runner, roundDir, ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 300_000,
  });
  if (run.status !== 0) throw new Error(`the restart child failed (${run.status}): ${run.stderr}`);
  return run.stdout;
}

/** Loads the plugins installed in `roundDir` in a new process as `host serve` starts; its ms. */
function serveStart(roundDir: string): number {
  const ms = child(roundDir).match(/^READY-MS ([\d.]+)/m)?.[1];
  if (ms === undefined) throw new Error("the restart child printed no READY-MS");
  return Number(ms);
}

/**
 * The same plugins, installed (untimed, by one child), then loaded by a new
 * process as `host serve` starts: first with the module cache emptied (a new
 * process that never saw them, as `host serve` on a new data directory), then
 * again with the cache that load wrote (a restart).
 */
function newProcessLoads(roundDir: string): { cold: number; restart: number } {
  child(roundDir, "--install");
  rmSync(join(roundDir, "cache"), { recursive: true, force: true }); // installing filled it
  const cold = serveStart(roundDir);
  return { cold, restart: serveStart(roundDir) };
}

try {
  await loadAll(await freshPlugins(3), join(dir, "warm-up")); // binaryen and the store warm up
  for (const n of counts) {
    const cold: number[] = [];
    const warm: number[] = [];
    const restarted: number[] = [];
    const coldProcess: number[] = [];
    const verify: number[] = [];
    const instr: number[] = [];
    const compile: number[] = [];
    for (let r = 0; r < roundsFor(n); r++) {
      const plugins = await freshPlugins(n);
      const roundDir = join(dir, `n${n}-r${r}`);
      mkdirSync(roundDir);
      writeKey(roundDir, key);
      plugins.forEach((wasm, i) =>
        writeFileSync(join(roundDir, `p${String(i).padStart(4, "0")}.wasm`), wasm)
      );
      const cacheDir = join(roundDir, "cache");
      cold.push(await loadAll(plugins, cacheDir));
      if (sameProcessWarm(n)) warm.push(await loadAll(plugins, cacheDir));
      const loads = newProcessLoads(roundDir);
      coldProcess.push(loads.cold);
      restarted.push(loads.restart);
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
    const label = `${n} plugin${n === 1 ? "" : "s"}`;
    report.figure(`cold.${n}.cold_ms`, `${label}: ready, cold (empty module cache)`, "ms", cold);
    if (sameProcessWarm(n)) {
      report.figure(`cold.${n}.warm_ms`, `${label}: ready again, same process (warm)`, "ms", warm);
    }
    report.figure(
      `cold.${n}.cold_process_ms`,
      `${label}: ready cold in a new process (empty module cache, as host serve starts)`,
      "ms",
      coldProcess,
    );
    report.figure(
      `cold.${n}.restart_ms`,
      `${label}: ready after a restart, warm disk cache`,
      "ms",
      restarted,
    );
    report.figure(
      `cold.${n}.restart_vs_cold`,
      `${label}: ratio restart (warm cache) / cold (per round)`,
      "x",
      ratios(restarted, cold),
    );
    if (!phasesFor(n)) continue;
    report.figure(`cold.${n}.verify_ms`, `${label}: verify signatures only`, "ms", verify);
    report.figure(`cold.${n}.instrument_ms`, `${label}: instrument only (binaryen)`, "ms", instr);
    report.figure(`cold.${n}.compile_ms`, `${label}: WebAssembly.compile only`, "ms", compile);
  }
  report.goal({
    id: "goal.cold",
    label: `4. 100 signed plugins ready in under 1 s, cold (empty module cache, ${engine})`,
    figure: "cold.100.cold_ms",
    target: 1000,
    kind: "max",
  });
  report.goal({
    id: "goal.cold.process",
    label:
      `4. 100 signed plugins ready in under 1 s, cold in a new process (empty module cache, ${engine})`,
    figure: "cold.100.cold_process_ms",
    target: 1000,
    kind: "max",
  });
  report.goal({
    id: "goal.cold.warm",
    label:
      `4. 100 signed plugins ready in under 300 ms after a restart (warm module cache, ${engine})`,
    figure: "cold.100.restart_ms",
    target: 300,
    kind: "max",
  });
  report.note(
    "Plugins: the first-party hello plugin signed under distinct ids (distinct digests), " +
      "with the compiled-module cache in a directory as host serve has it; cold and warm load " +
      "four at a time as host serve does (binaryen on the instrumenter's threads) in the " +
      "benchmark's process, which has loaded plugins before; 'in a new process' and the " +
      "restart load the installed plugins in a new process as host serve starts, with the " +
      "cache emptied and then with the cache that load wrote.",
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
report.done();
