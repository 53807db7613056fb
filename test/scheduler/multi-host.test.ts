import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { addSchedule } from "../../host/scheduler/mod.ts";
import { openStore } from "../../host/store/mod.ts";
import { repoRoot } from "../helpers/cli.ts";
import { eventsOf, hello, hostWith, scheduledRuns, type TestHome, testHome } from "./helpers.ts";

/** Runs one host process on `home` for `ms`; resolves with its JSON report. */
function hostProcess(home: string, ms: number): Promise<{ pid: number; runs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      join(repoRoot, "scripts", "run-ts.mjs"),
      join(repoRoot, "test", "scheduler", "host-process.ts"),
      home,
      String(ms),
    ], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`host process exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split("\n").at(-1)!));
    });
  });
}

describe("several hosts on one database", () => {
  let home: TestHome | undefined;
  afterEach(() => home?.remove());

  it("three host processes run each occurrence exactly once", async () => {
    home = await testHome();
    const setup = await hostWith(home, [await hello(home.key)]);
    await addSchedule(setup.store, setup.runtime.get("example.hello")!.manifest, {
      name: "every-second",
      pluginId: "example.hello",
      capability: "greet",
      cron: "* * * * * *",
      input: { name: "many" },
    });
    await setup.close();

    const reports = await Promise.all([0, 1, 2].map(() => hostProcess(home!.home, 7000)));

    const store = await openStore({ url: home.paths.db });
    try {
      const runs = await scheduledRuns(store);
      const occurrences = new Set(runs.map((r) => r.correlationId));
      // Every process ran the schedule for ~7 s: several occurrences, each run once.
      expect(runs.length).toBeGreaterThanOrEqual(4);
      expect(occurrences.size).toBe(runs.length);
      expect(runs.every((r) => r.status === "ok")).toBe(true);
      expect(reports.reduce((n, r) => n + r.runs, 0)).toBe(runs.length);
      const triggered = await eventsOf(store, "schedule.triggered");
      expect(triggered.length).toBe(runs.length);
      const pids = new Set(runs.map((r) => r.host.pid));
      console.log(
        `multi-host: ${runs.length} occurrences, ${runs.length} runs, by ${pids.size} processes ` +
          `(${reports.map((r) => r.runs).join("/")})`,
      );
    } finally {
      await store.close();
    }
  }, 60_000);
});
