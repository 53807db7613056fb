/**
 * Memory per loaded plugin: resident set size (and V8 heap, and memory outside
 * the heap: WebAssembly memories, Extism blocks) before loading and after 100
 * and 1,000 signed hello plugins are loaded in one runtime (main-thread mode,
 * each with its own instance), after a forced GC when the process allows one
 * (run with --expose-gc). One pass per count: loading 1,000 plugins takes
 * minutes of binaryen work, so `--quick` loads 50.
 * Run: node --expose-gc scripts/run-ts.mjs test/bench/memory.bench.ts [--quick]
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { createRuntime } from "../../host/core/mod.ts";
import { openStore } from "../../host/store/mod.ts";
import { newKey, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";
import { quick, Reporter } from "./_stats.ts";

const targets = quick ? [50] : [100, 1000];
const MiB = 1024 * 1024;
const report = new Reporter("memory");
const dir = mkdtempSync(join(tmpdir(), "plughost-memory-"));
const store = await openStore({ url: `file:${join(dir, "host.db")}` });
const key = await newKey();
const runtime = createRuntime({
  store,
  trust: trustStoreOf(key),
  hostFunctions: capabilityProvider(),
});
const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<{ rss: number; heap: number; outside: number }> {
  await store.flush();
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, outside: m.external + m.arrayBuffers };
}

async function load(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const wasm = await signedFirstParty("hello", key, (m) => {
      m["id"] = `bench.mem${i}`;
    });
    await runtime.load(wasm, "bench");
  }
}

try {
  // One plugin loaded and called first, so the baseline includes binaryen, Extism and the store.
  await load(0, 1);
  const greet = () =>
    runtime.invoke({
      pluginId: "bench.mem0",
      capability: "greet",
      input: new TextEncoder().encode('{"name":"a"}'),
      trigger: "cli",
    });
  if (!(await greet()).ok) throw new Error("hello did not answer");
  const base = await settle();
  let loaded = 1;
  for (const n of targets) {
    await load(loaded, n + 1);
    loaded = n + 1;
    const now = await settle();
    const per = (a: number, b: number) => [(a - b) / MiB / n];
    report.figure(
      `memory.${n}.rss_per_plugin`,
      `${n} plugins: RSS per plugin`,
      "MiB",
      per(now.rss, base.rss),
    );
    report.figure(
      `memory.${n}.heap_per_plugin`,
      `${n} plugins: V8 heap per plugin`,
      "MiB",
      per(now.heap, base.heap),
    );
    report.figure(
      `memory.${n}.outside_per_plugin`,
      `${n} plugins: outside the heap (wasm memory, buffers) per plugin`,
      "MiB",
      per(now.outside, base.outside),
    );
    report.figure(`memory.${n}.rss_total`, `${n} plugins: process RSS`, "MiB", [now.rss / MiB]);
  }
  if (quick) report.note("--quick: 50 plugins only; 100 and 1,000 in the full run.");
  report.note(
    `one pass per count (a figure of n=1 has no spread); baseline RSS ${
      (base.rss / MiB).toFixed(0)
    } MiB with one plugin loaded; GC ${gc ? "forced" : "not available (run with --expose-gc)"}`,
  );
} finally {
  await runtime.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
report.done();
