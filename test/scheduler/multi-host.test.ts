import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { addSchedule } from "../../host/scheduler/mod.ts";
import { openStore, type Store } from "../../host/store/mod.ts";
import { repoRoot } from "../helpers/cli.ts";
import { LeasesRepository } from "../../host/store/mod.ts";
import {
  eventsOf,
  hello,
  hostWith,
  scheduledRuns,
  slowPlugin,
  type TestHome,
  testHome,
  until,
} from "./helpers.ts";

/** One host process on a data directory: its scheduler runs until `stop()`. */
interface HostProcess {
  child: ChildProcess;
  /** Resolves once its scheduler is running. */
  started: Promise<void>;
  /** Ends its stdin (it stops its scheduler and reports); resolves with its report. */
  stop(): Promise<{ pid: number; runs: number }>;
  /** Resolves with its report when it exits, rejects when it fails. */
  done: Promise<{ pid: number; runs: number }>;
}

/** Every host process started, killed after each test if still running. */
const children: ChildProcess[] = [];

/** Starts one host process on `home` (test/scheduler/host-process.ts) that runs until stopped. */
function hostProcess(home: string, leaseMs?: number): HostProcess {
  const child = spawn(process.execPath, [
    join(repoRoot, "scripts", "run-ts.mjs"),
    join(repoRoot, "test", "scheduler", "host-process.ts"),
    home,
    "stdin",
    ...(leaseMs === undefined ? [] : [String(leaseMs)]),
  ], { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  const started = new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      err += c;
      if (err.includes("started\n")) resolve();
    });
    child.on("close", () => reject(new Error(`host process ended before starting: ${err}`)));
  });
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  const done = new Promise<{ pid: number; runs: number }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code !== 0) reject(new Error(`host process exited ${code} (signal ${signal}): ${err}`));
      else resolve(JSON.parse(out.trim().split("\n").at(-1)!));
    });
  });
  return {
    child,
    started,
    done,
    stop: () => {
      child.stdin.end();
      return done;
    },
  };
}

/** Runs `read` on a store of its own on `home` (the host processes keep theirs open). */
async function withStore<T>(home: TestHome, read: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ url: home.paths.db });
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

describe("several hosts on one database", () => {
  let home: TestHome | undefined;
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
    home?.remove();
  });

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

    // Proves: hosts sharing a database run each occurrence exactly once between them. The
    // processes run until at least three occurrences fell while all three were up (watched in
    // the database, with a generous bound for a loaded machine), then stop.
    const hosts = [0, 1, 2].map(() => hostProcess(home!.home));
    await Promise.all(hosts.map((h) => h.started));
    const home_ = home;
    const count = () => withStore(home_, async (store) => (await scheduledRuns(store)).length);
    const atStart = await count();
    expect(await until(async () => (await count()) >= atStart + 3, 60_000)).toBe(true);
    const reports = await Promise.all(hosts.map((h) => h.stop()));

    const store = await openStore({ url: home.paths.db });
    try {
      const runs = await scheduledRuns(store);
      const occurrences = new Set(runs.map((r) => r.correlationId));
      // Several occurrences, each run once, every run accounted for by one process.
      expect(runs.length).toBeGreaterThanOrEqual(3);
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
  }, 120_000);

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

      // Proves: a lease whose holder died expires, and another host takes the occurrence over
      // (attempt 2) after the dead host's run was marked interrupted. Each step waits for the
      // state it needs, observed in the database, never for a fixed time.
      // Host A claims an occurrence and is killed while its call runs (its RunRecord says running).
      const a = hostProcess(home.home, 2000);
      const doneA = a.done.catch((e) => e);
      const home_ = home;
      const running = () =>
        withStore(
          home_,
          async (store) => (await scheduledRuns(store)).some((r) => r.status === "running"),
        );
      expect(await until(running, 60_000)).toBe(true);
      a.child.kill("SIGKILL");
      await doneA;
      const held = (await leases()).find((l) => l.state === "held");
      expect(held).toMatchObject({ attempts: 1 });

      // Host B starts once A's lease has expired, and takes the occurrence over.
      const expired = () =>
        withStore(
          home_,
          async (store) =>
            (await new LeasesRepository(store.client).expired(Date.now()))
              .some((l) => l.occurrence === held!.occurrence),
        );
      expect(await until(expired, 30_000)).toBe(true);
      const b = hostProcess(home.home, 2000);
      const done = async () =>
        (await leases()).some((l) => l.occurrence === held!.occurrence && l.state === "done");
      expect(await until(done, 60_000)).toBe(true);
      await b.stop();
      const store = await openStore({ url: home.paths.db });
      try {
        const lease = (await new LeasesRepository(store.client).list(s.id))
          .find((l) => l.occurrence === held!.occurrence);
        expect(lease).toMatchObject({ state: "done", attempts: 2 });
        const correlation = `${s.id}@${new Date(held!.occurrence).toISOString()}`;
        // B may run later occurrences too; this one ran twice: cut off, then taken over.
        const runs = (await scheduledRuns(store)).filter((r) => r.correlationId === correlation);
        // A's run was marked interrupted when the database was next opened; B's finished.
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
