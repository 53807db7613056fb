import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { addSchedule } from "../../host/scheduler/mod.ts";
import { openStore } from "../../host/store/mod.ts";
import { repoRoot } from "../helpers/cli.ts";
import { LeasesRepository } from "../../host/store/mod.ts";
import {
  eventsOf,
  hello,
  hostWith,
  scheduledRuns,
  sleep,
  slowPlugin,
  type TestHome,
  testHome,
  until,
} from "./helpers.ts";

/** Runs one host process on `home` for `ms`; resolves with its JSON report. */
function hostProcess(
  home: string,
  ms: number,
  leaseMs?: number,
  started?: (child: ChildProcess) => void,
): Promise<{ pid: number; runs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      join(repoRoot, "scripts", "run-ts.mjs"),
      join(repoRoot, "test", "scheduler", "host-process.ts"),
      home,
      String(ms),
      ...(leaseMs === undefined ? [] : [String(leaseMs)]),
    ], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    started?.(child);
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

  it(
    "a host killed mid-run loses its lease when it expires, and another host runs the occurrence",
    async () => {
      home = await testHome();
      const setup = await hostWith(home, [await slowPlugin(home.key, 4000)]);
      const s = await addSchedule(setup.store, setup.runtime.get("test.slow")!.manifest, {
        name: "slow-20s",
        pluginId: "test.slow",
        capability: "spin",
        intervalMs: 20_000,
      });
      await setup.close();
      const leases = async () => {
        const store = await openStore({ url: home!.paths.db });
        try {
          return await new LeasesRepository(store.client).list(s.id);
        } finally {
          await store.close();
        }
      };

      // Host A claims an occurrence and is killed while its call runs (its RunRecord says running).
      let a: ChildProcess | undefined;
      const doneA = hostProcess(home.home, 60_000, 2000, (child) => (a = child)).catch((e) => e);
      const running = async () => {
        const store = await openStore({ url: home!.paths.db });
        try {
          return (await scheduledRuns(store)).some((r) => r.status === "running");
        } finally {
          await store.close();
        }
      };
      expect(await until(running, 60_000)).toBe(true);
      a!.kill("SIGKILL");
      await doneA;
      const held = (await leases()).find((l) => l.state === "held");
      expect(held).toMatchObject({ attempts: 1 });

      // Host B starts after the lease expired and takes the occurrence over.
      await sleep(2500);
      await hostProcess(home.home, 8000, 2000);
      const store = await openStore({ url: home.paths.db });
      try {
        const lease = (await new LeasesRepository(store.client).list(s.id))
          .find((l) => l.occurrence === held!.occurrence);
        expect(lease).toMatchObject({ state: "done", attempts: 2 });
        const correlation = `${s.id}@${new Date(held!.occurrence).toISOString()}`;
        // B may run later occurrences too; this one ran twice: cut off, then taken over.
        const runs = (await scheduledRuns(store)).filter((r) => r.correlationId === correlation);
        // A's run was marked interrupted when B opened the database; B's finished.
        expect(runs.map((r) => r.status)).toEqual([
          "interrupted",
          expect.stringMatching(/ok|error/),
        ]);
        expect(runs[1]!.id).toBe(lease!.runId);
        const triggered = (await eventsOf(store, "schedule.triggered"))
          .filter((e) => e.correlationId === correlation);
        expect(triggered.map((e) => (e.payload as { reason: string }).reason)).toEqual([
          "timer",
          "takeover",
        ]);
      } finally {
        await store.close();
      }
    },
    120_000,
  );
});
