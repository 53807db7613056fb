import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OpenHost } from "../../host/core/mod.ts";
import { type RunningScheduler, startScheduler } from "../../host/scheduler/mod.ts";
import { runCli } from "../helpers/cli.ts";
import { hello, hostWith, scheduledRuns, type TestHome, testHome, until } from "./helpers.ts";

describe("host schedules", () => {
  let home: TestHome;
  let host: OpenHost;
  let scheduler: RunningScheduler | undefined;
  const cli = (...args: string[]) =>
    runCli(["schedules", ...args], { env: { PLUGHOST_HOME: home.home } });

  beforeEach(async () => {
    home = await testHome();
    host = await hostWith(home, [await hello(home.key)]);
  });
  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
    await host.close();
    home.remove();
  });

  it("adds a schedule that a running host picks up within a few seconds", async () => {
    scheduler = await startScheduler({ runtime: host.runtime, store: host.store });
    const added = await cli(
      "add",
      "--plugin",
      "example.hello",
      "--capability",
      "greet",
      "--cron",
      "* * * * * *",
      "--input",
      '{"name":"cli"}',
      "--name",
      "from-cli",
    );
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^Added schedule 'from-cli'; next run \d{4}-\d\d-\d\dT/);
    // The host's poll (every 2 s) arms it; runs follow. Each wait below is for a state, with a
    // generous bound for a loaded machine; nothing is counted against time.
    expect(await until(async () => (await scheduledRuns(host.store)).length >= 1, 30_000)).toBe(
      true,
    );
    expect(scheduler.armed()).toEqual(["from-cli"]);

    const listed = await cli("list", "--json");
    expect(listed.code).toBe(0);
    const [view] = JSON.parse(listed.stdout) as Record<string, unknown>[];
    expect(view).toMatchObject({
      name: "from-cli",
      pluginId: "example.hello",
      capability: "greet",
      cron: "* * * * * *",
      timezone: "UTC",
      state: "active",
      source: "api",
      input: { name: "cli" },
    });
    expect(typeof view!.nextRun).toBe("string");

    const paused = await cli("pause", "from-cli");
    expect(paused.stdout).toBe("Paused schedule 'from-cli'\n");
    expect(await until(() => scheduler!.armed().length === 0, 30_000)).toBe(true);
    const table = await cli();
    expect(table.stdout).toMatch(/^NAME +STATE +CAPABILITY +WHEN +TZ +NEXT RUN +SOURCE\n/);
    expect(table.stdout).toMatch(
      /from-cli +paused +example\.hello\/greet +\* \* \* \* \* \* +UTC +- +api/,
    );

    expect((await cli("resume", "from-cli")).code).toBe(0);
    expect(await until(() => scheduler!.armed().length === 1, 30_000)).toBe(true);
    expect((await cli("remove", "from-cli")).stdout).toBe("Removed schedule 'from-cli'\n");
    expect(await until(() => scheduler!.armed().length === 0, 30_000)).toBe(true);
    expect((await cli("remove", "from-cli")).code).toBe(1);
  }, 180_000);

  it("refuses bad schedules with a clear message and the right exit code", async () => {
    const base = ["add", "--plugin", "example.hello", "--capability", "greet"];
    const badCron = await cli(...base, "--cron", "*/5 * * *", "--input", '{"name":"a"}');
    expect(badCron.code).toBe(65);
    expect(badCron.stderr).toMatch(/Invalid cron expression '\*\/5 \* \* \*'/);
    const unknown = await cli(
      "add",
      "--plugin",
      "example.hello",
      "--capability",
      "shout",
      "--every",
      "5s",
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/has no capability 'shout' \(it has: greet\)/);
    const noPlugin = await cli(
      "add",
      "--plugin",
      "example.nope",
      "--capability",
      "x",
      "--every",
      "5s",
    );
    expect(noPlugin.code).toBe(1);
    expect(noPlugin.stderr).toMatch(/No plugin 'example.nope' is installed/);
    const badEvery = await cli(...base, "--every", "5 minutes");
    expect(badEvery.code).toBe(65);
    expect(badEvery.stderr).toMatch(/Invalid duration '5 minutes'/);
    const both = await cli(...base, "--every", "5s", "--cron", "* * * * *");
    expect(both.code).toBe(64);
    const badJson = await cli(...base, "--every", "5s", "--input", "{name}");
    expect(badJson.code).toBe(65);
    expect(badJson.stderr).toMatch(/--input is not valid JSON/);
    expect((await cli("list")).stdout).toMatch(/^No schedules in file:/);
  }, 60_000);
});
