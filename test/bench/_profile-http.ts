/**
 * Not a benchmark: a load for a CPU profile of capability calls through the
 * HTTP app in process (`app.fetch`, no sockets), CONCURRENCY at a time, each
 * answered once its RunRecord is durable: where goal 2's time goes.
 * Run: node --cpu-prof --cpu-prof-dir=/tmp/prof scripts/run-ts.mjs test/bench/_profile-http.ts [REQUESTS=20000] [CONCURRENCY=32]
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { capabilityProvider } from "../../host/capabilities/mod.ts";
import { createHost } from "../../host/host.ts";
import { createApp } from "../../host/server/app.ts";
import { newKey, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";

const requests = Number(process.argv[2] ?? 20000);
const concurrency = Number(process.argv[3] ?? 32);
const dir = mkdtempSync(join(tmpdir(), "plughost-http-profile-"));
const key = await newKey();
const host = await createHost({
  home: dir,
  trust: trustStoreOf(key),
  cache: false,
  hostFunctions: capabilityProvider(),
});
try {
  await host.load(await signedFirstParty("hello", key), "bench");
  // SQL_COUNT=1: count the statements the shared client runs per call (by text), instead of timing.
  const counted = new Map<string, number>();
  if (process.env.SQL_COUNT) {
    const client = host.store.client as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const method of ["execute", "batch"]) {
      const original = client[method]!.bind(client);
      client[method] = (...args: unknown[]) => {
        const first = args[0] as string | { sql: string } | unknown[];
        const sql = typeof first === "string"
          ? first
          : Array.isArray(first)
          ? `batch of ${first.length}`
          : (first as { sql: string }).sql;
        counted.set(sql, (counted.get(sql) ?? 0) + 1);
        return original(...args);
      };
    }
  }
  const { token } = await host.store.tokens.create({ name: "bench", scopes: ["invoke"] });
  const { app } = createApp({ host, options: { rateLimitPerSecond: 0 } });
  const url = "http://bench/v1/plugins/example.hello/capabilities/greet";
  const body = '{"name":"b"}';
  const send = async () => {
    const res = await app.fetch(
      new Request(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "content-length": String(body.length),
        },
        body,
      }),
      { remoteAddress: "127.0.0.1" },
    );
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`status ${res.status}`);
  };
  for (let round = 0; round < 3; round++) {
    let left = requests / 3;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await send();
    }));
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    process.stdout.write(
      `${(requests / 3 / ms * 1000).toFixed(0)} calls/s, ${
        ((cpu.user + cpu.system) / (requests / 3)).toFixed(0)
      } us CPU a call (all threads)\n`,
    );
  }
  for (const [sql, n] of [...counted].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    process.stdout.write(`${(n / requests).toFixed(3)} a call: ${sql.slice(0, 160)}\n`);
  }
} finally {
  await host.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
