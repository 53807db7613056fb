/**
 * Golden runs: recorded runs of the example plugins whose normalized
 * RunRecord hash, output digest and fuel are locked in runs.json (ids, times,
 * durations and the host process normalized out), and each replays
 * identically. A change to a plugin, the sandbox's metering or the RunRecord
 * shows here. To accept a deliberate change, run
 *   PLUGHOST_GOLDEN_UPDATE=1 npx vitest run test/golden/golden.test.ts
 * and commit runs.json with the change (docs/replay.md, "Golden runs").
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Id } from "../../host/artifact/mod.ts";
import { createHost, type Host } from "../../host/host.ts";
import { canonicalJson, type RunRecord } from "../../host/store/mod.ts";

interface GoldenCase {
  name: string;
  plugin: string;
  file: string;
  capability: string;
  input: unknown;
}

interface Golden {
  name: string;
  status: string;
  outputDigest: string | null;
  fuel: number | null;
  recordHash: string;
}

/** The cases, run in this order on one fresh host (counter's KV carries from one to the next). */
const cases: GoldenCase[] = [
  {
    name: "hello greet Ada",
    plugin: "example.hello",
    file: "hello",
    capability: "greet",
    input: { name: "Ada" },
  },
  {
    name: "hello greet unicode",
    plugin: "example.hello",
    file: "hello",
    capability: "greet",
    input: { name: "Zoë ✓" },
  },
  {
    name: "hello greet no input",
    plugin: "example.hello",
    file: "hello",
    capability: "greet",
    input: undefined,
  },
  {
    name: "counter increment",
    plugin: "example.counter",
    file: "counter",
    capability: "increment",
    input: {},
  },
  {
    name: "counter increment by 5",
    plugin: "example.counter",
    file: "counter",
    capability: "increment",
    input: { by: 5 },
  },
  {
    name: "counter get",
    plugin: "example.counter",
    file: "counter",
    capability: "get",
    input: undefined,
  },
  {
    name: "counter reset",
    plugin: "example.counter",
    file: "counter",
    capability: "reset",
    input: undefined,
  },
];

const goldenFile = resolve("test/golden/runs.json");
const update = process.env["PLUGHOST_GOLDEN_UPDATE"] === "1";

/** A RunRecord with what differs between two runs of the same call taken out. */
function normalized(run: RunRecord): Record<string, unknown> {
  const { id: _id, parentRunId: _p, startedAt: _s, endedAt: _e, host: _h, ...rest } = run;
  return { ...rest, usage: { ...rest.usage, durationMs: null } };
}

describe("golden runs of the example plugins", () => {
  let home: string;
  let host: Host;
  const recorded: { golden: Golden; runId: string }[] = [];

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "plughost-golden-"));
    host = await createHost({ home, paths: { trust: resolve(".plughost/trust") }, cache: false });
    for (const file of new Set(cases.map((c) => c.file))) {
      await host.load(await readFile(`build/plugins/${file}.wasm`), `${file}.wasm`);
    }
    for (const c of cases) {
      const result = await host.invoke({
        pluginId: c.plugin,
        capability: c.capability,
        input: c.input === undefined
          ? new Uint8Array()
          : new TextEncoder().encode(JSON.stringify(c.input)),
        trigger: "cli",
        durable: true,
      });
      const run = (await host.runs.get(result.runId))!;
      recorded.push({
        runId: run.id,
        golden: {
          name: c.name,
          status: run.status,
          outputDigest: run.outputDigest,
          fuel: run.usage.fuel,
          recordHash: sha256Id(canonicalJson(normalized(run))),
        },
      });
    }
    if (update) {
      await writeFile(goldenFile, JSON.stringify(recorded.map((r) => r.golden), null, 2) + "\n");
    }
  }, 120_000);
  afterAll(async () => {
    await host?.close();
    await rm(home, { recursive: true, force: true });
  });

  it("match test/golden/runs.json (update: PLUGHOST_GOLDEN_UPDATE=1)", async () => {
    const locked = JSON.parse(await readFile(goldenFile, "utf8")) as Golden[];
    expect(recorded.map((r) => r.golden)).toEqual(locked);
  });

  it("each replays with the same output digest and fuel", async () => {
    for (const { runId, golden } of recorded) {
      const report = await host.replay(runId);
      expect(report.differences, golden.name).toEqual([]);
      expect(report.mode, golden.name).toBe("strict");
    }
  });
});
