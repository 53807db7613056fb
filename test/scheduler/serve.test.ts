import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { RunRecord } from "../../host/store/mod.ts";
import { repoRoot, runCli } from "../helpers/cli.ts";
import { hello, hostWith, sleep, type TestHome, testHome } from "./helpers.ts";

describe("host serve runs manifest schedules", () => {
  let home: TestHome | undefined;
  afterEach(() => home?.remove());

  it(
    "a '*/1 * * * * *' schedule served for ~5 s has schedule runs in 'host runs', none overlapping",
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
      await sleep(5000);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);

      const listed = await runCli(["runs", "--json", "--limit", "100"], {
        env: { PLUGHOST_HOME: home.home },
      });
      expect(listed.code).toBe(0);
      const runs = (JSON.parse(listed.stdout) as RunRecord[]).filter((r) =>
        r.trigger === "schedule"
      ).reverse();
      expect(runs.length).toBeGreaterThanOrEqual(3);
      expect(runs.length).toBeLessThanOrEqual(7);
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
