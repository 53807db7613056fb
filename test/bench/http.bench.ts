// Capability calls over HTTP (auth, JSON Schema check, sandbox call, RunRecord durable
// before the 200) against a bare Hono route, on the same runtime, in the same run, with
// the same in-process load generator on loopback. Bounded in time.
// Run: node scripts/run-ts.mjs test/bench/http.bench.ts [SECONDS=5] [CONCURRENCY=16]
//      npx deno run -A test/bench/http.bench.ts [SECONDS] [CONCURRENCY]
import { Hono } from "hono";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { Agent, request as httpRequest } from "node:http";
import { join } from "node:path";
import process from "node:process";
import { listen } from "../../host/adapter/serve.ts";
import { benchHostOptions } from "./_hello-app.ts";
import { createHost } from "../../host/host.ts";
import { startServer } from "../../host/server/start.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 16);
const runtimeName = "Deno" in globalThis ? "deno" : `node ${process.version}`;
const dir = mkdtempSync(join(tmpdir(), "plughost-http-bench-"));

interface Result {
  label: string;
  ok: number;
  failed: number;
  /** Statuses of the failed requests, e.g. "503x2". */
  failures: string;
  perSecond: number;
  p50: number;
  p99: number;
  /** Calls per CPU-second of this process (server and load generator together). */
  perCpuSecond: number;
}

/** One request; resolves with the status once the body is read. */
type Send = (url: string, init: RequestInit) => Promise<number>;

// Node's fetch (undici) costs more CPU per request than the server under test, so on Node the
// load generator uses node:http with keep-alive; Deno's fetch is light and is used as is.
const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
const send: Send = "Deno" in globalThis
  ? async (url, init) => {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    return res.status;
  }
  : (url, init) =>
    new Promise((resolve, reject) => {
      const req = httpRequest(url, {
        method: init.method,
        headers: init.headers as Record<string, string>,
        agent,
      }, (res) => {
        res.on("data", () => {});
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(init.body as string);
    });

// HTTP_BENCH_PROFILE=DIR (Node and Deno): a CPU profile of each measured scenario, written to
// DIR/<label>.cpuprofile, to see where the server's time goes (top self time: see
// docs/performance.md). Profiling slows the run, so its figures are not the ones to report.
const profileDir = process.env.HTTP_BENCH_PROFILE;
const profiler = profileDir ? new (await import("node:inspector/promises")).Session() : undefined;
if (profiler) {
  profiler.connect();
  await profiler.post("Profiler.enable");
  await profiler.post("Profiler.setSamplingInterval", { interval: 200 });
}

/** Runs `phase` inside a CPU profile named for `label` when profiling is on. */
async function profiled<T>(label: string, phase: () => Promise<T>): Promise<T> {
  if (!profiler || !profileDir) return await phase();
  await profiler.post("Profiler.start");
  try {
    return await phase();
  } finally {
    const { profile } = await profiler.post("Profiler.stop");
    const name = label.replaceAll(/[^A-Za-z0-9]+/g, "-");
    writeFileSync(join(profileDir, `${name}.cpuprofile`), JSON.stringify(profile));
  }
}

/** `concurrency` loops sending `request()` until the deadline; latencies in ms. */
async function load(
  label: string,
  url: string,
  init: RequestInit,
  ms: number,
  expect = 200,
): Promise<Result> {
  return await profiled(label, () => measure(label, url, init, ms, expect));
}

async function measure(
  label: string,
  url: string,
  init: RequestInit,
  ms: number,
  expect: number,
): Promise<Result> {
  const latencies: number[] = [];
  let failed = 0;
  const statuses = new Map<number, number>();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const status = await send(url, init);
      if (status === expect) latencies.push(performance.now() - t0);
      else {
        failed++;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }
  }));
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    label,
    ok: latencies.length,
    failed,
    failures: [...statuses].map(([status, n]) => `${status}x${n}`).join(" "),
    perSecond: latencies.length / (elapsed / 1000),
    p50: at(0.5),
    p99: at(0.99),
    perCpuSecond: latencies.length / ((cpu.user + cpu.system) / 1e6),
  };
}

function print(r: Result): void {
  process.stdout.write(
    `${r.label.padEnd(40)} ${String(r.ok).padStart(7)} ok ${String(r.failed).padStart(4)} failed  ${
      r.perSecond.toFixed(0).padStart(6)
    } calls/s  p50 ${r.p50.toFixed(2).padStart(6)} ms  p99 ${r.p99.toFixed(2).padStart(7)} ms  ${
      r.perCpuSecond.toFixed(0).padStart(6)
    } per CPU-second${r.failures ? `  (failed: ${r.failures})` : ""}\n`,
  );
}

const key = await newKey();
const host = await createHost(benchHostOptions(dir, key));
const store = host.store;
try {
  await host.load(await signedFirstParty("hello", key), "bench");
  const { token } = await store.tokens.create({ name: "bench", scopes: ["invoke"] });
  const server = await startServer({
    host,
    port: 0,
    options: { rateLimitPerSecond: 0 },
  });
  const bare = new Hono().post("/bare", async (c) => {
    const body = await c.req.json<{ name: string }>();
    return c.json({ message: `Hello, ${body.name}!` });
  });
  const bareListener = await listen({ fetch: bare.fetch, hostname: "127.0.0.1", port: 0 });
  const body = JSON.stringify({ name: "bench" });
  const capability: RequestInit = {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body,
  };
  const plain: RequestInit = {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  };
  const capUrl = `${server.url}/v1/plugins/example.hello/capabilities/greet`;
  const bareUrl = `http://127.0.0.1:${bareListener.port}/bare`;

  process.stdout.write(
    `http.bench: ${runtimeName}, ${seconds} s per scenario, ${concurrency} concurrent clients on loopback\n`,
  );
  await measure("warm-up", bareUrl, plain, 500, 200);
  await measure("warm-up", capUrl, capability, 1000, 200);
  const before = Number(
    (await store.client.execute("SELECT count(*) FROM run_records")).rows[0]?.[0],
  );
  const bareResult = await load("bare Hono route", bareUrl, plain, seconds * 1000);
  const capResult = await load(
    "capability call (durable RunRecord)",
    capUrl,
    capability,
    seconds * 1000,
  );
  // The same route refused by the HTTP layer before the core (Content-Type not JSON): the
  // server's own cost per request (routing, auth, scope, query and path checks, plugin
  // lookup, problem+json), without the core's invoke.
  const httpOnly = await load(
    "capability route, refused by server (415)",
    capUrl,
    { ...capability, headers: { ...capability.headers, "content-type": "text/plain" } },
    seconds * 1000,
    415,
  );
  // The same route refusing the input at the schema check, inside the core's invoke (which
  // may reach the store before the check): no sandbox call, no RunRecord.
  const refused = await load(
    "capability route, input refused (422)",
    capUrl,
    { ...capability, body: JSON.stringify({ name: 42 }) },
    seconds * 1000,
    422,
  );
  print(bareResult);
  print(capResult);
  print(refused);
  print(httpOnly);
  const after = Number(
    (await store.client.execute(
      "SELECT count(*) FROM run_records WHERE status = 'ok'",
    )).rows[0]?.[0],
  );
  process.stdout.write(
    `server refusal (415) / bare route, per CPU-second: ${
      (100 * httpOnly.perCpuSecond / bareResult.perCpuSecond).toFixed(0)
    }% (the HTTP layer's own cost, without the core)\n`,
  );
  process.stdout.write(
    `ratio (CPU): ${(100 * capResult.perCpuSecond / bareResult.perCpuSecond).toFixed(0)}% ` +
      `per CPU-second, which a busy shared machine distorts less than wall-clock figures\n`,
  );
  process.stdout.write(
    `ratio: capability calls reach ${
      (100 * capResult.perSecond / bareResult.perSecond).toFixed(0)
    }% ` +
      `of the bare route's throughput (goal: at least 50%)\n` +
      `RunRecords committed during the capability run: ${
        after - before
      } (responses ok: ${capResult.ok})\n`,
  );
  agent.destroy();
  await bareListener.close(1000);
  await server.close();
} finally {
  await host.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
