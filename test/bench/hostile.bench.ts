/**
 * Containment under attack (issue 13): a real server on 127.0.0.1 with a
 * well-behaved plugin (hello, main thread) is measured idle, then while 8
 * hostile plugins run at once, one call in flight each, again and again:
 * host-call loops (kv_get), KV floods (kv_set), CPU spins, memory growth
 * (memory.grow and Extism alloc), with their circuit breakers held closed so
 * they are never suspended. `/healthz` and the hello call are sent one
 * at a time, by clients in a process of their own (_hostile-client.mjs, as
 * real clients are not in the server's process); their p50/p99 are printed
 * side by side, and the goals judged:
 * `/healthz` p99 < 50 ms, hello p99 within 2x its idle p99.
 * Also: worker-mode host calls over an instance's life (first vs last calls), 1,000 host calls in one
 * worker call, a worker start's stall,
 * and the loop held by a worker plugin that makes an 8 MiB block before each host call.
 * Run: node scripts/run-ts.mjs test/bench/hostile.bench.ts [--quick]
 * (ONLY=spin runs only the hostile plugins whose id contains "spin": to see which attack costs what;
 * PLUGIN_CPU=CORES sets the plugin CPU share as `host serve --plugin-cpu` does;
 * HOSTILE_CPU_PROFILE=FILE writes a CPU profile of the attack window, on Node and on Deno alike,
 * where Deno has no --cpu-prof: the inspector session of node:inspector works on both)
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { isDeno } from "../../host/adapter/worker-args.ts";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { benchHostOptions } from "./_hello-app.ts";
import { createHost } from "../../host/host.ts";
import { lifecycleSettings } from "../../host/policy/mod.ts";
import { loadPlugin, setWorkerCpuCores } from "../../host/sandbox/mod.ts";
import { startServer } from "../../host/server/start.ts";
import { signPlugin } from "../../host/trust/mod.ts";
import { fixture } from "../sandbox/fixtures.ts";
import { repoRoot } from "../helpers/cli.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";
import { engine, quick, Reporter } from "./_stats.ts";

if (process.env.PLUGIN_CPU) setWorkerCpuCores(Number(process.env.PLUGIN_CPU));
const seconds = quick ? 4 : 10;
const report = new Reporter("hostile");
const dir = mkdtempSync(join(tmpdir(), "plughost-hostile-bench-"));

/** What the clients (_hostile-client.mjs) measured: latencies of 200s and counts of others. */
interface Probe {
  ms: number[];
  failed: number;
}
interface ClientResult {
  idleHealth: Probe;
  idleHello: Probe;
  busyHealth: Probe;
  busyHello: Probe;
  outcomes: Record<string, number>;
}

/**
 * Runs the clients in a process of their own (this runtime), so that their
 * HTTP work does not load the event loop under measurement; `onAttack` runs
 * when the attack starts.
 */
function runClients(
  config: { url: string; token: string; seconds: number; hostiles: string[] },
  onAttack: () => void,
): Promise<ClientResult> {
  const script = join(repoRoot, "test", "bench", "_hostile-client.mjs");
  const args = isDeno
    ? ["run", "-A", "--quiet", script, JSON.stringify(config)]
    : [script, JSON.stringify(config)];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let result: ClientResult | undefined;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line === "ATTACK") onAttack();
      else if (line.startsWith("RESULT ")) result = JSON.parse(line.slice(7)) as ClientResult;
    });
    child.on("error", reject);
    child.on(
      "close",
      (code) =>
        result ? resolve(result) : reject(new Error(`the clients exited with ${code}, no result`)),
    );
  });
}

/** Starts the CPU profiler of this thread; the function returned stops it and gives the profile. */
async function startProfile(): Promise<() => Promise<unknown>> {
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, (error, result) => error ? reject(error) : resolve(result))
    );
  await post("Profiler.enable");
  await post("Profiler.start");
  return async () => {
    const { profile } = await post("Profiler.stop") as { profile: unknown };
    session.disconnect();
    return profile;
  };
}

function quantile(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

interface Hostile {
  id: string;
  fixture: string;
  export: string;
  kv?: boolean;
}

const hostiles: Hostile[] = ([
  { id: "hostile.hostcall1", fixture: "hostile-kv", export: "get_loop", kv: true },
  { id: "hostile.hostcall2", fixture: "hostile-kv", export: "get_loop", kv: true },
  { id: "hostile.kvflood1", fixture: "hostile-kv", export: "set_loop", kv: true },
  { id: "hostile.kvflood2", fixture: "hostile-kv", export: "set_loop", kv: true },
  { id: "hostile.spin1", fixture: "spin", export: "run" },
  { id: "hostile.spin2", fixture: "spin", export: "run" },
  { id: "hostile.grow", fixture: "grow", export: "run" },
  { id: "hostile.alloc", fixture: "alloc-loop", export: "run" },
] as Hostile[]).filter((h) => !process.env.ONLY || h.id.includes(process.env.ONLY));

const key = await newKey();
const host = await createHost({
  ...benchHostOptions(dir, key),
  // The circuit breaker would suspend each hostile plugin after a few failed runs and turn the
  // attack into cheap 503s; an operator policy holds it closed so they run the whole window.
  lifecycle: lifecycleSettings({
    schemaVersion: 1,
    plugins: { "hostile.*": { breaker: { failures: 1e9, minCalls: 1e9 } } },
  }),
});
try {
  await host.load(await signedFirstParty("hello", key), "bench");
  for (const h of hostiles) {
    const manifest = {
      schemaVersion: 1,
      id: h.id,
      version: "1.0.0",
      name: h.id,
      description: "A hostile plugin for the containment benchmark",
      engines: { host: "^0.1.0", abi: 1 },
      capabilities: { attack: { export: h.export, description: "Never stops on its own" } },
      ...(h.kv ? { permissions: { kv: { quotaBytes: 65536 } } } : {}),
      limits: { memoryMaxPages: 256, timeoutMs: 5000 },
    };
    const signed = await signPlugin(fixture(h.fixture), key, {
      manifest: JSON.stringify(manifest),
    });
    await host.load(signed.wasm, "bench");
  }
  const { token } = await host.store.tokens.create({ name: "bench", scopes: ["invoke"] });
  const server = await startServer({
    host,
    port: 0,
    options: { rateLimitPerSecond: 0 },
  });
  process.stdout.write(
    `hostile.bench: ${report.report.runtime}, ${seconds} s idle then ${seconds} s with ${hostiles.length} hostile plugins\n`,
  );
  // The event loop's delay and (on request) a CPU profile, both of the attack window.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  const profiling: { stop?: Promise<() => Promise<unknown>> } = {};
  const clients = await runClients(
    { url: server.url, token, seconds, hostiles: hostiles.map((h) => h.id) },
    () => {
      loopDelay.enable();
      if (process.env.HOSTILE_CPU_PROFILE) profiling.stop = startProfile();
    },
  );
  loopDelay.disable();
  if (profiling.stop) {
    const stop = await profiling.stop;
    writeFileSync(process.env.HOSTILE_CPU_PROFILE!, JSON.stringify(await stop()));
  }
  const { idleHealth, idleHello, busyHealth, busyHello } = clients;
  const outcomes = new Map(Object.entries(clients.outcomes));

  const row = (label: string, idle: number[], busy: number[]) =>
    process.stdout.write(
      `${label.padEnd(26)} idle p50 ${quantile(idle, 0.5).toFixed(2).padStart(7)} p99 ${
        quantile(idle, 0.99).toFixed(2).padStart(7)
      } ms (${idle.length})   under attack p50 ${quantile(busy, 0.5).toFixed(2).padStart(7)} p99 ${
        quantile(busy, 0.99).toFixed(2).padStart(8)
      } ms (${busy.length}) p90 ${quantile(busy, 0.9).toFixed(2)} p999 ${
        quantile(busy, 0.999).toFixed(2)
      } max ${Math.max(...busy).toFixed(2)}; idle p90 ${quantile(idle, 0.9).toFixed(2)} max ${
        Math.max(...idle).toFixed(2)
      }\n`,
    );
  row("/healthz", idleHealth.ms, busyHealth.ms);
  row("hello greet (well-behaved)", idleHello.ms, busyHello.ms);
  const healthP99 = quantile(busyHealth.ms, 0.99);
  const ratio = quantile(busyHello.ms, 0.99) / quantile(idleHello.ms, 0.99);
  report.figure("hostile.healthz.idle.p99", "/healthz p99, idle", "ms", [
    quantile(idleHealth.ms, 0.99),
  ]);
  report.figure("hostile.healthz.p99", "/healthz p99, 8 hostile plugins running", "ms", [
    healthP99,
  ]);
  report.figure("hostile.call.idle.p99", "hello call p99, idle", "ms", [
    quantile(idleHello.ms, 0.99),
  ]);
  report.figure("hostile.call.p99", "hello call p99, 8 hostile plugins running", "ms", [
    quantile(busyHello.ms, 0.99),
  ]);
  report.figure("hostile.call.p99.ratio", "hello call p99, under attack / idle", "x", [ratio]);
  report.goal({
    id: "hostile.healthz",
    label: `/healthz p99 < 50 ms while 8 hostile plugins run (${engine})`,
    figure: "hostile.healthz.p99",
    target: 50,
    kind: "max",
  });
  report.goal({
    id: "hostile.call",
    label: `a well-behaved call's p99 within 2x idle while 8 hostile plugins run (${engine})`,
    figure: "hostile.call.p99.ratio",
    target: 2,
    kind: "max",
  });
  process.stdout.write(
    `goal /healthz p99 < 50 ms: ${healthP99 < 50 ? "met" : "NOT met"} (${
      healthP99.toFixed(1)
    } ms)\n` +
      `goal hello p99 <= 2x idle: ${ratio <= 2 ? "met" : "NOT met"} (${ratio.toFixed(2)}x)\n`,
  );
  report.figure("hostile.loop.delay.max", "event-loop delay under attack, max", "ms", [
    loopDelay.max / 1e6,
  ]);
  report.figure("hostile.loop.delay.p99", "event-loop delay under attack, p99", "ms", [
    loopDelay.percentile(99) / 1e6,
  ]);
  report.note(
    `hostile calls by outcome: ${
      [...outcomes].map(([k, n]) => `${k} ${n}`).join(", ")
    }; failed probes: ` +
      `healthz ${idleHealth.failed + busyHealth.failed}, hello ${
        idleHello.failed + busyHello.failed
      }`,
  );
  await server.close(); // closes the host too

  // Worker-mode host calls over an instance's life: before the fix each call got slower.
  const answer = new TextEncoder().encode('{"ok":true}');
  const plugin = await loadPlugin(fixture("host-call-loop"), {
    mode: "worker",
    concurrency: 1,
    hostFunctions: { probe: () => answer },
  });
  const perCall: number[] = [];
  const calls = quick ? 60 : 200;
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    const r = await plugin.call("times", new Uint8Array(20));
    if (!r.ok) throw new Error(`host-call-loop failed: ${r.error.message}`);
    perCall.push(performance.now() - t0);
  }
  await plugin.close();
  // Many host calls in one worker call: Extism's table of the call's freed blocks crosses the
  // thread with each one, and its answers wrote every freed slot back (block-sync.ts): 1,000
  // took 6.5 s before that, growing with the square of the count.
  const many = await loadPlugin(fixture("host-call-loop"), {
    mode: "worker",
    concurrency: 1,
    limits: { timeoutMs: 120_000, fuel: 10_000_000_000n },
    hostFunctions: { probe: () => answer },
  });
  const manyCalls = quick ? 300 : 1000;
  const manyMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = await many.call("times", new Uint8Array(manyCalls));
    if (!r.ok) throw new Error(`host-call-loop failed: ${r.error.message}`);
    manyMs.push(performance.now() - t0);
  }
  await many.close();
  report.figure(
    "hostile.worker.many",
    `worker call with ${manyCalls.toLocaleString("en")} host calls`,
    "ms",
    manyMs,
  );
  const first = perCall.slice(0, 20);
  const last = perCall.slice(-20);
  report.figure(
    "hostile.worker.first20",
    "worker call with 20 host calls, calls 1-20",
    "ms",
    first,
  );
  report.figure(
    "hostile.worker.last20",
    `worker call with 20 host calls, calls ${calls - 19}-${calls}`,
    "ms",
    last,
  );
  // What one worker start holds the event loop for (restart-gate.ts rate-limits restarts for it):
  // the longest gap a 1 ms interval timer sees while a worker plugin loads.
  const gaps: number[] = [];
  for (let i = 0; i < (quick ? 3 : 6); i++) {
    let last = performance.now();
    let gap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      gap = Math.max(gap, now - last);
      last = now;
    }, 1);
    const started = await loadPlugin(fixture("host-call-loop"), {
      mode: "worker",
      concurrency: 1,
      hostFunctions: { probe: () => answer },
    });
    gap = Math.max(gap, performance.now() - last);
    clearInterval(timer);
    await started.close();
    if (i > 0) gaps.push(gap); // the first start also loads and compiles: not a restart
  }
  report.figure(
    "hostile.worker.start.block",
    "worker start: longest event-loop stall while it starts",
    "ms",
    gaps,
  );
  // A worker plugin that makes an 8 MiB block before each host call (Extism copies it to the
  // host's thread with the call, invoke-gate.ts): the share of the loop held in gaps over 5 ms.
  const flooding = await loadPlugin(fixture("block-flood"), {
    mode: "worker",
    concurrency: 1,
    limits: { memoryPages: 1024, timeoutMs: quick ? 2000 : 5000, fuel: 10_000_000_000n },
    hostFunctions: { probe: () => answer },
  });
  let held = 0;
  let floodGap = 0;
  let previous = performance.now();
  const floodTimer = setInterval(() => {
    const now = performance.now();
    if (now - previous > 5) held += now - previous;
    floodGap = Math.max(floodGap, now - previous);
    previous = now;
  }, 1);
  const floodStart = performance.now();
  await flooding.call("run", new Uint8Array(8));
  const floodMs = performance.now() - floodStart;
  clearInterval(floodTimer);
  await flooding.close();
  report.figure(
    "hostile.blockflood.share",
    "8 MiB block before each worker host call: loop held in gaps > 5 ms",
    "%",
    [(100 * held) / floodMs],
  );
  report.figure(
    "hostile.blockflood.gap",
    "8 MiB block before each worker host call: longest gap",
    "ms",
    [floodGap],
  );
  report.done();
} finally {
  await host.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
// Workers of hostile plugins that were cut off may still be winding down: do not wait for them.
process.exit(0);
