/**
 * Not a benchmark: a load for a CPU profile of capability calls through the
 * HTTP app in process (`app.fetch`, no sockets), CONCURRENCY at a time, each
 * answered once its RunRecord is durable: where goal 2's time goes.
 * Run: node --cpu-prof --cpu-prof-dir=/tmp/prof scripts/run-ts.mjs test/bench/_profile-http.ts [REQUESTS=20000] [CONCURRENCY=32]
 * @module
 */
import process from "node:process";
import { GREET_URL, helloApp, PEER } from "./_hello-app.ts";

const requests = Number(process.argv[2] ?? 20000);
const concurrency = Number(process.argv[3] ?? 32);
const { host, app, request, close } = await helloApp("plughost-http-profile-");
try {
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
  const send = async () => {
    const res = await app.fetch(request(GREET_URL, '{"name":"b"}'), PEER);
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
  await close();
}
