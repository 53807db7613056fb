/**
 * Benchmark: the cost of the sandbox (fuel metering + memory cap + its call
 * path) against bare Extism on the same plugins, in one run, interleaved.
 * Prints figures; asserts nothing.
 * Run: node scripts/run-ts.mjs test/bench/metering.ts   (Node)
 *      npx deno run -A test/bench/metering.ts           (Deno)
 */
import createPlugin from "@extism/extism";
import { loadPlugin } from "../../host/sandbox/mod.ts";
import { conformance, fixture, utf8 } from "../sandbox/fixtures.ts";

const runtime = "Deno" in globalThis ? "deno" : "node";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function timeCalls(call: () => Promise<unknown>, n: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await call();
  return (performance.now() - start) / n;
}

interface Subject {
  name: string;
  bare: () => Promise<unknown>;
  sandboxed: () => Promise<unknown>;
  n: number;
}

async function subjects(): Promise<Subject[]> {
  const cpu = fixture("cpu-heavy");
  const echo = fixture("echo");
  const code = conformance("code.wasm");
  const bareCpu = await createPlugin({ wasm: [{ data: cpu }] }, {});
  const bareEcho = await createPlugin({ wasm: [{ data: echo }] }, {});
  const bareCode = await createPlugin({ wasm: [{ data: code }] }, {});
  const sbCpu = await loadPlugin(cpu);
  const sbEcho = await loadPlugin(echo);
  const sbCode = await loadPlugin(code);
  const small = utf8("hello world");
  const none = new Uint8Array();
  const ok = async (p: Promise<{ ok: boolean }>) => {
    if (!(await p).ok) throw new Error("a sandboxed call failed");
  };
  return [
    {
      name: "cpu-heavy (2M hash rounds, ~80M fuel)",
      bare: () => bareCpu.call("run", none),
      sandboxed: () => ok(sbCpu.call("run", none)),
      n: 5,
    },
    {
      name: "echo 11 B (kernel-call bound)",
      bare: () => bareEcho.call("run", small),
      sandboxed: () => ok(sbEcho.call("run", small)),
      n: 2000,
    },
    {
      name: "code.wasm count_vowels (Rust PDK)",
      bare: () => bareCode.call("count_vowels", small),
      sandboxed: () => ok(sbCode.call("count_vowels", small)),
      n: 2000,
    },
  ];
}

const rounds = 7;
console.log(
  `sandbox vs bare Extism, ${runtime}, main thread, median of ${rounds} interleaved rounds`,
);
for (const s of await subjects()) {
  await timeCalls(s.bare, s.n); // warm up both tiers
  await timeCalls(s.sandboxed, s.n);
  const bare: number[] = [];
  const sandboxed: number[] = [];
  for (let r = 0; r < rounds; r++) {
    bare.push(await timeCalls(s.bare, s.n));
    sandboxed.push(await timeCalls(s.sandboxed, s.n));
  }
  const b = median(bare);
  const m = median(sandboxed);
  const fmt = (ms: number) => (ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} us`);
  console.log(
    `  ${s.name.padEnd(40)} bare ${fmt(b).padStart(9)}  sandboxed ${fmt(m).padStart(9)}  ${
      ((m / b - 1) * 100).toFixed(0).padStart(4)
    }%`,
  );
}

const echo = fixture("echo");
const worker = await loadPlugin(echo, { mode: "worker" });
const wt = await timeCalls(() => worker.call("run", utf8("hello world")), 200);
console.log(`  worker mode echo 11 B: ${(wt * 1000).toFixed(0)} us per call`);
await worker.close();
const t0 = performance.now();
const loaded = await loadPlugin(conformance("code.wasm"), { limits: { memoryPages: 1000 } });
console.log(
  `  load code.wasm (instrument + compile, uncached): ${(performance.now() - t0).toFixed(0)} ms`,
);
await loaded.close();
const t1 = performance.now();
await (await loadPlugin(conformance("code.wasm"), { limits: { memoryPages: 1000 } })).close();
console.log(`  load code.wasm again (cached module): ${(performance.now() - t1).toFixed(1)} ms`);
// Extism workers and the module cache keep the process alive; the benchmark is done.
const { exit } = await import("node:process");
exit(0);
