// Trigger lateness of the scheduler with 1,000 schedules on one host: for each occurrence
// this host runs, the time from its planned instant to the start of its capability call
// (lease claimed, schedule.triggered written). Real store file, real hello plugin.
// Two loads: 1,000 schedules spread over 10 s (100 due each second), and 1,000 due at the
// same second (every 5 s). Prints p50/p90/p99/max per load; the goal is p99 under 50 ms.
// Run: node scripts/run-ts.mjs test/bench/scheduler.bench.ts [SCHEDULES]
import { cpus, loadavg } from "node:os";
import process from "node:process";
import type { OpenHost } from "../../host/core/mod.ts";
import { addSchedule, type ScheduledRun, startScheduler } from "../../host/scheduler/mod.ts";
import { hello, hostWith, testHome } from "../scheduler/helpers.ts";

const count = Number(process.argv[2] ?? 1000);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(
  host: OpenHost,
  label: string,
  pattern: (i: number) => string,
  seconds: number,
): Promise<void> {
  const manifest = host.runtime.get("example.hello")!.manifest;
  for (let i = 0; i < count; i++) {
    await addSchedule(host.store, manifest, {
      name: `${label}-${i}`,
      pluginId: "example.hello",
      capability: "greet",
      cron: pattern(i),
      input: { name: `n${i}` },
    });
  }
  const runs: ScheduledRun[] = [];
  // Control: how late a bare 100 ms timer fires meanwhile (machine load, GC, the calls' work).
  const control: number[] = [];
  let due = performance.now() + 100;
  const tick = setInterval(() => {
    const now = performance.now();
    control.push(now - due);
    due = now + 100;
  }, 100);
  const cpu = process.cpuUsage();
  const scheduler = await startScheduler({
    runtime: host.runtime,
    store: host.store,
    onRun: (run) => runs.push(run),
  });
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  await scheduler.stop();
  clearInterval(tick);
  const used = process.cpuUsage(cpu);
  control.sort((a, b) => a - b);
  const late = runs.map((r) => r.lateMs).sort((a, b) => a - b);
  const callLate = runs.map((r) => r.callLateMs).sort((a, b) => a - b);
  const failed = runs.filter((r) => !r.ok).length;
  console.log(
    `${label.padEnd(10)} ${
      String(count).padStart(5)
    } schedules, ${late.length} runs (${failed} failed) in ${seconds} s: ` +
      `lateness p50 ${percentile(late, 50)} ms, p90 ${percentile(late, 90)} ms, ` +
      `p99 ${percentile(late, 99)} ms, max ${late.at(-1)} ms; call start p50 ${
        percentile(callLate, 50)
      } ms, p99 ${percentile(callLate, 99)} ms; ` +
      `CPU ${((used.user + used.system) / 1000 / seconds / 10).toFixed(0)}% of one core; ` +
      `control timer lateness p50 ${percentile(control, 50).toFixed(0)} ms, p99 ${
        percentile(control, 99).toFixed(0)
      } ms; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`,
  );
  const { SchedulesRepository } = await import("../../host/store/mod.ts");
  const repo = new SchedulesRepository(host.store.db);
  for (const s of await repo.list()) await repo.remove(s.id);
}

const home = await testHome();
const host = await hostWith(home, [await hello(home.key)]);
try {
  await measure(host, "spread", (i) => `${i % 10}-59/10 * * * * *`, 12);
  await measure(host, "same-second", () => "*/5 * * * * *", 11);
} finally {
  await host.close();
  home.remove();
}
