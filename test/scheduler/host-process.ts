// One host process for the multi-host test: opens the data directory given,
// runs the scheduler until its stdin ends (MS "stdin": the test decides when, from
// what it observes) or for MS milliseconds, stops, and prints what it ran as one
// JSON line. Usage: node scripts/run-ts.mjs test/scheduler/host-process.ts HOME MS|stdin [LEASE_MS]
import process from "node:process";
import { resolvePaths } from "../../host/config/paths.ts";
import { openHost } from "../../host/core/mod.ts";
import { type ScheduledRun, startScheduler } from "../../host/scheduler/mod.ts";

const [home, ms, leaseMs] = process.argv.slice(2);
if (home === undefined || ms === undefined) {
  process.stderr.write("usage: host-process.ts HOME MS|stdin [LEASE_MS]\n");
  process.exit(64);
}
// Fuel far past what the slow plugin's run can burn before its timeout (the default 1e9 lasts
// ~500 ms on Node): the multi-host test kills this process while that run is still going.
const host = await openHost({
  paths: resolvePaths({}, home, { home }),
  defaults: { fuel: 100_000_000_000n },
});
const runs: ScheduledRun[] = [];
const scheduler = await startScheduler({
  runtime: host.runtime,
  store: host.store,
  pollMs: 500,
  ...(leaseMs === undefined ? {} : { leaseMs: Number(leaseMs) }),
  onRun: (run) => runs.push(run),
});
// Tells the test the scheduler is running.
process.stderr.write("started\n");
if (ms === "stdin") {
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on("end", resolve).on("close", resolve));
} else {
  await new Promise((resolve) => setTimeout(resolve, Number(ms)));
}
await scheduler.stop();
await host.close();
process.stdout.write(
  JSON.stringify({ holder: scheduler.holder, pid: process.pid, runs: runs.length }) + "\n",
);
