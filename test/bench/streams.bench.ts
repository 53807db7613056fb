// /healthz latency while event streams are open: none, 200 idle streams, and 20 streams
// replaying the whole log from cursor 0 (a `read` token's worst case before streams replayed
// in batches and shared one follower). A real server on 127.0.0.1, node:http clients.
// Run: node scripts/run-ts.mjs test/bench/streams.bench.ts [--quick]
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createHost } from "../../host/host.ts";
import { startServer } from "../../host/server/start.ts";
import { newKey, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";
import { quick, Reporter } from "./_stats.ts";

const EVENTS = quick ? 20_000 : 100_000;
const SAMPLE_MS = quick ? 2000 : 5000;
const IDLE_STREAMS = 200;
const REPLAYS = 20;

const dir = mkdtempSync(join(tmpdir(), "plughost-streams-bench-"));
const report = new Reporter("streams");
const key = await newKey();
const host = await createHost({ home: dir, trust: trustStoreOf(key), cache: false });
const store = host.store;
await host.load(await signedFirstParty("hello", key), "bench");
const { token } = await store.tokens.create({ name: "r", scopes: ["read"] });
for (let i = 0; i < EVENTS; i += 1000) {
  await Promise.all(
    Array.from(
      { length: 1000 },
      (_, j) =>
        store.events.append({ type: "bench.seed", payload: { i: i + j, pad: "x".repeat(200) } }),
    ),
  );
}
const server = await startServer({
  host,
  port: 0,
  graceMs: 1000,
  // One token opens every stream here; the cap per token is what the test suite checks.
  options: { rateLimitPerSecond: 0, maxStreamsPerToken: 1000, maxStreams: 1000 },
});

const healthAgent = new Agent({ keepAlive: true, maxSockets: 1 });
const streamAgent = new Agent({ keepAlive: false, maxSockets: 10_000 });

function healthz(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${server.url}/healthz`, { agent: healthAgent }, (res) => {
      res.on("data", () => {});
      res.on("end", () => resolve(performance.now() - t0));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Sequential /healthz for SAMPLE_MS; p50 and p99 in ms. */
async function sample(): Promise<{ p50: number; p99: number; n: number }> {
  const times: number[] = [];
  const end = performance.now() + SAMPLE_MS;
  while (performance.now() < end) times.push(await healthz());
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { p50: at(0.5), p99: at(0.99), n: times.length };
}

interface Stream {
  bytes: number;
  done: Promise<void>;
  close(): void;
}

function openStream(query: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${server.url}/v1/events/stream${query}`, {
      agent: streamAgent,
      headers: { authorization: `Bearer ${token}` },
    }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`stream answered ${res.statusCode}`));
      const s: Stream = {
        bytes: 0,
        done: new Promise((r) => res.on("close", () => r())),
        close: () => req.destroy(),
      };
      res.on("data", (chunk: Buffer) => (s.bytes += chunk.length));
      resolve(s);
    });
    req.on("error", () => {});
    req.end();
  });
}

const show = (label: string, s: { p50: number; p99: number; n: number }, id: string) => {
  report.figure(`streams.${id}.p50`, `/healthz p50, ${label}`, "ms", [s.p50]);
  report.figure(`streams.${id}.p99`, `/healthz p99, ${label}`, "ms", [s.p99]);
};

show("no streams", await sample(), "none");

const idle: Stream[] = [];
for (let i = 0; i < IDLE_STREAMS; i++) idle.push(await openStream("?type=nothing.*"));
show(`${IDLE_STREAMS} idle streams`, await sample(), "idle200");
for (const s of idle) s.close();

const replays: Stream[] = [];
for (let i = 0; i < REPLAYS; i++) replays.push(await openStream("?cursor=0"));
const during = await sample();
show(`${REPLAYS} streams replaying ${EVENTS} events from 0`, during, "replay20");
const received = replays.reduce((n, s) => n + s.bytes, 0);
report.note(
  `${EVENTS} events of ~0.4 KB seeded; the replaying streams had received ${
    (received / 1e6).toFixed(1)
  } MB when sampling ended; /healthz samples: ${during.n}`,
);
for (const s of replays) s.close();

await server.close(); // closes the host, its store last
rmSync(dir, { recursive: true, force: true });
report.done();
process.exit(0);
