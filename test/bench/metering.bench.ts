/**
 * Cost of fuel metering: the same CPU-heavy kernels metered and unmetered,
 * interleaved rounds in one process, median + min/max and the ratio of each
 * pair; then the time to instrument two real plugins.
 * Run: node scripts/run-ts.mjs test/bench/metering.bench.ts
 *  or: npx deno run -A test/bench/metering.bench.ts
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { instrument } from "../../host/sandbox/instrument/mod.ts";
import { buildKernels } from "./metering-kernels.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
type Kernel = { name: string; fn: string; arg: number };
const kernels: Kernel[] = [
  { name: "sha256 (4 KiB x 400)", fn: "sha256", arg: 400 },
  { name: "tight loop (5e6)", fn: "mix", arg: 5_000_000 },
  { name: "recursive fib(30)", fn: "fib", arg: 30 },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const fmt = (xs: number[], digits = 2) =>
  `median ${median(xs).toFixed(digits)} (min ${Math.min(...xs).toFixed(digits)}, max ${
    Math.max(...xs).toFixed(digits)
  })`;

function time(f: () => unknown): [number, unknown] {
  const t0 = performance.now();
  const value = f();
  return [performance.now() - t0, value];
}

const runtime = "Deno" in globalThis ? "Deno" : `Node ${process.versions.node}`;
console.log(`# Metering benchmark, ${new Date().toISOString()}, ${runtime}, ${ROUNDS} rounds`);
const wasm = await buildKernels();
const plain = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource), {
  env: { abort: () => {} },
});
const out = instrument(wasm, { memoryMaxPages: 256 });
const metered = new WebAssembly.Instance(new WebAssembly.Module(out.bytes as BufferSource), {
  env: { abort: () => {} },
});
const fuel = metered.exports.plughost_fuel as WebAssembly.Global;
const BUDGET = 1n << 60n;

for (const k of kernels) {
  const a = plain.exports[k.fn] as (n: number) => number;
  const b = metered.exports[k.fn] as (n: number) => number;
  // Warm up for a while so that both modules reach V8's optimizing tier.
  const warmUntil = performance.now() + 1500;
  while (performance.now() < warmUntil) {
    a(k.arg);
    fuel.value = BUDGET;
    b(k.arg);
  }
  const tPlain: number[] = [];
  const tMetered: number[] = [];
  const ratios: number[] = [];
  const fuels = new Set<bigint>();
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ["plain", "metered"] : ["metered", "plain"];
    let tp = 0;
    let tm = 0;
    for (const which of order) {
      if (which === "plain") {
        tp = time(() => a(k.arg))[0];
      } else {
        fuel.value = BUDGET;
        const [t, v] = time(() => b(k.arg));
        tm = t;
        fuels.add(BUDGET - (fuel.value as bigint));
        if (v !== a(k.arg)) throw new Error(`${k.fn}: metered result differs`);
      }
    }
    tPlain.push(tp);
    tMetered.push(tm);
    ratios.push(tm / tp);
  }
  console.log(`\n## ${k.name}`);
  console.log(`unmetered ms: ${fmt(tPlain)}`);
  console.log(`metered ms:   ${fmt(tMetered)}`);
  console.log(`ratio metered/unmetered per pair: ${fmt(ratios, 3)}`);
  // On a loaded machine the minimum is the least disturbed sample.
  console.log(`ratio of the minimums: ${(Math.min(...tMetered) / Math.min(...tPlain)).toFixed(3)}`);
  console.log(`fuel per call: ${[...fuels].join(", ")} (one value = deterministic)`);
}

const dir = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "shared",
  "conformance",
  "extism-js-sdk",
);
console.log("\n## Instrumentation time (memory cap + metering)");
for (const file of ["code.wasm", "hello_haskell.wasm"]) {
  const bytes = new Uint8Array(readFileSync(join(dir, file)));
  const times: number[] = [];
  for (let i = 0; i < (process.env.BENCH_QUICK ? 1 : 5); i++) {
    times.push(time(() => instrument(bytes, { memoryMaxPages: 1024 }))[0]);
  }
  const capOnly = time(() => instrument(bytes, { memoryMaxPages: 1024, meter: false }))[0];
  console.log(
    `${file} (${(bytes.length / 1e6).toFixed(2)} MB): ${fmt(times, 0)} ms; cap only ${
      capOnly.toFixed(1)
    } ms`,
  );
}
