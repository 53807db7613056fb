import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type RunRecord } from "../../host/store/mod.ts";
import { repoRoot, runCli } from "../helpers/cli.ts";
import { hello, hostWith, scheduledRuns, type TestHome, testHome, until } from "./helpers.ts";

describe("host serve runs manifest schedules", () => {
  let home: TestHome | undefined;
  afterEach(() => home?.remove());

  it(
    "a '*/1 * * * * *' schedule served has schedule runs in 'host runs', one per occurrence, none overlapping",
    async () => {
      home = await testHome();
      const setup = await hostWith(home, [
        await hello(home.key, (m) => {
          m.schedules = [{
            name: "tick",
            cron: "*/1 * * * * *",
            capability: "greet",
            input: { name: "tick" },
          }];
        }),
      ]);
      await setup.close();
      const env = { ...process.env, PLUGHOST_HOME: home.home, NO_COLOR: "1" };
      const child = spawn(process.execPath, [
        join(repoRoot, "bin", "host.mjs"),
        "serve",
        "--port",
        "0",
        "--json",
      ], {
        cwd: repoRoot,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      await new Promise<void>((resolve, reject) => {
        child.stdout.setEncoding("utf8").on("data", (c: string) => {
          out += c;
          if (out.includes('"event":"listening"')) resolve();
        });
        void exited.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
      });
      // Proves: `host serve` arms manifest schedules and runs them, one run per occurrence, none
      // overlapping, listed by `host runs`. It serves until three runs are in the database
      // (watched through a connection of the test's own, with a generous bound for a loaded
      // machine), not for a fixed time.
      const store = await openStore({ url: home.paths.db });
      try {
        expect(await until(async () => (await scheduledRuns(store)).length >= 3, 60_000)).toBe(
          true,
        );
      } finally {
        await store.close();
        child.kill("SIGTERM");
      }
      expect(await exited).toBe(0);

      const listed = await runCli(["runs", "--json", "--limit", "100"], {
        env: { PLUGHOST_HOME: home.home },
      });
      expect(listed.code).toBe(0);
      const runs = (JSON.parse(listed.stdout) as RunRecord[]).filter((r) =>
        r.trigger === "schedule"
      ).reverse();
      expect(runs.length).toBeGreaterThanOrEqual(3);
      expect(new Set(runs.map((r) => r.correlationId)).size).toBe(runs.length);
      expect(runs.every((r) => r.status === "ok" && r.capability === "greet")).toBe(true);
      for (let i = 1; i < runs.length; i++) {
        expect(Date.parse(runs[i]!.startedAt)).toBeGreaterThanOrEqual(
          Date.parse(runs[i - 1]!.endedAt!),
        );
      }
      const table = await runCli(["runs"], { env: { PLUGHOST_HOME: home.home } });
      expect(table.stdout).toMatch(/ok +example\.hello +greet +schedule /);
    },
    90_000,
  );
});
