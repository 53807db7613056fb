// Events per second into a real database file (WAL, synchronous=FULL: every commit is
// fsynced), through the batching writer and with one INSERT per transaction, in the same run.
// Run: node scripts/run-ts.mjs test/bench/events.bench.ts [N | --quick] (--quick: 20000)
import { createClient } from "@libsql/client";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { openStore } from "../../host/store/mod.ts";

const arg = process.argv[2];
const total = arg === "--quick" ? 20_000 : Number(arg ?? 100_000);
if (!Number.isSafeInteger(total) || total < 64) {
  throw new Error(`events.bench: expected an event count of at least 64 or --quick, got ${arg}`);
}
const singleTotal = Math.min(total, 2_000);
const dir = mkdtempSync(join(tmpdir(), "plughost-bench-"));

function url(name: string): string {
  return pathToFileURL(join(dir, name)).href;
}

let cpuStart = process.cpuUsage();

/** Marks the start of a measurement (wall time is taken by the caller). */
function begin(): number {
  cpuStart = process.cpuUsage();
  return performance.now();
}

// Besides wall-clock events/s, prints events per CPU-second of this process (libSQL runs
// in-thread, so that includes SQLite): on a shared, busy machine that figure still says
// what one free core would do, while the wall-clock figure says what this run got.
function report(label: string, count: number, ms: number): void {
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const perSecond = Math.round(count / (ms / 1000));
  process.stdout.write(
    `${label.padEnd(44)} ${String(count).padStart(7)} events in ${ms.toFixed(0).padStart(6)} ms = ${
      String(perSecond).padStart(7)
    } events/s (${Math.round(count / cpuSeconds)} per CPU-second)\n`,
  );
}

try {
  const sync = await (async () => {
    const c = createClient({ url: url("probe.db") });
    await c.execute("PRAGMA journal_mode = WAL");
    const mode = (await c.execute("PRAGMA synchronous")).rows[0]?.[0];
    c.close();
    return mode;
  })();
  process.stdout.write(`events.bench: ${total} events, WAL, synchronous=${sync} (2 = FULL)\n`);

  // 1. One INSERT per durable transaction (what a naive store does per call).
  {
    const store = await openStore({ url: url("single.db") });
    const start = begin();
    for (let i = 0; i < singleTotal; i++) {
      await store.client.execute({
        sql: "INSERT INTO events (id, schema_version, ts, type, level, source, payload) " +
          "VALUES (?, 1, ?, 'bench.single', 'info', 'bench', ?)",
        args: [`single-${i}`, Date.now(), JSON.stringify({ i })],
      });
    }
    report("single-row inserts (one per transaction)", singleTotal, performance.now() - start);
    await store.close();
  }

  // 2. The batching writer, callers not waiting (fire and forget), then one flush.
  {
    const store = await openStore({ url: url("batched.db") });
    const start = begin();
    for (let i = 0; i < total; i++) {
      void store.events.append({ type: "bench.batched", source: "bench", payload: { i } });
    }
    await store.flush();
    const ms = performance.now() - start;
    report("batching writer, fire and forget + flush", total, ms);
    const stored = await store.client.execute("SELECT count(*) FROM events");
    process.stdout.write(
      `  stored ${stored.rows[0]?.[0]}, batches ${store.writerStats.batches}\n`,
    );
    await store.close();
  }

  // 3. The batching writer with 64 concurrent callers that each await durability.
  {
    const store = await openStore({ url: url("awaited.db") });
    const callers = 64;
    const each = Math.floor(total / callers);
    const start = begin();
    await Promise.all(Array.from({ length: callers }, async (_, c) => {
      for (let i = 0; i < each; i++) {
        await store.events.append({ type: "bench.awaited", source: `c${c}`, payload: { i } });
      }
    }));
    report(
      `batching writer, ${callers} callers awaiting each`,
      each * callers,
      performance.now() - start,
    );
    process.stdout.write(`  batches ${store.writerStats.batches}\n`);
    await store.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const os = await import("node:os");
process.stdout.write(
  `load average after the run: ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores\n`,
);
