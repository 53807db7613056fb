/**
 * The core's one invoke, observed from outside: every trigger's runs are
 * counted under their trigger (a scheduled run, a plugin's invoke child run,
 * a CLI run); the RunRecord's config fingerprint is shared by runs with the
 * same config and limits and changes with a limit; the limits recorded are
 * those the sandbox applied; output checks fail the run when asked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Metrics } from "../../host/server/metrics.ts";
import { SchedulesRepository } from "../../host/store/mod.ts";
import { startScheduler } from "../../host/scheduler/mod.ts";
import { signedFirstParty } from "../helpers/signing.ts";
import { json, outputOf, type TestHost, testHost } from "../capabilities/harness.ts";
import { ops, probeWasm, signedProbe } from "../capabilities/probe.ts";
import { scheduledRuns, until } from "../scheduler/helpers.ts";

describe("invoke, the one path of every run", () => {
  let t: TestHost;
  beforeAll(async () => {
    await probeWasm();
    t = await testHost();
    await t.load("hello");
    await t.host.runtime.load(await signedProbe(t.key, "t.a", { invoke: ["t.b/run"] }), "test");
    await t.host.runtime.load(await signedProbe(t.key, "t.b", {}), "test");
  }, 120_000);
  afterAll(async () => await t?.close());

  const greet = (name: string, extra: Record<string, unknown> = {}) =>
    t.host.runtime.invoke({
      pluginId: "example.hello",
      capability: "greet",
      input: json({ name }),
      trigger: "cli",
      durable: true,
      ...extra,
    });

  it("counts a CLI run, an invoke child run and a scheduled run under their triggers", async () => {
    expect((await greet("cli")).ok).toBe(true);
    const parent = await t.call(
      "t.a",
      "run",
      ops({ fn: "invoke", req: { plugin: "t.b", capability: "run", input: ops() } }),
    );
    outputOf(parent);
    // A schedule added a minute ago with catch-up-once runs its latest missed occurrence at start.
    const schedule = await new SchedulesRepository(t.host.store.db).create({
      name: "tick",
      pluginId: "example.hello",
      capability: "greet",
      cron: "*/10 * * * * *",
      input: { name: "cron" },
      missed: "catch-up-once",
    }, Date.now() - 60_000);
    const scheduler = await startScheduler({ runtime: t.host.runtime, store: t.host.store });
    try {
      expect(await until(async () => (await scheduledRuns(t.host.store)).length > 0, 20_000))
        .toBe(true);
    } finally {
      await scheduler.stop();
    }
    const runs = await scheduledRuns(t.host.store);
    expect(runs[0]?.correlationId).toMatch(new RegExp(`^${schedule.id}@`));

    const text = new Metrics(t.host.runtime.metrics).render({
      pluginsLoaded: () => 3,
      writerQueue: () => 0,
      writerFailed: () => 0,
    });
    const count = (labels: string) =>
      Number(new RegExp(`^plughost_calls_total\\{${labels}\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
    expect(count('plugin="example.hello",capability="greet",trigger="cli"')).toBe(1);
    expect(count('plugin="t.a",capability="run",trigger="cli"')).toBe(1);
    expect(count('plugin="t.b",capability="run",trigger="invoke"')).toBe(1);
    expect(count('plugin="example.hello",capability="greet",trigger="schedule"'))
      .toBe(runs.length);
    expect(text).toMatch(/^plughost_calls_in_flight\{plugin="t.b",.*\} 0$/m);
  }, 60_000);

  it("fingerprints the effective config and limits: same config, same print; a limit changes it", async () => {
    const one = await greet("a");
    const two = await greet("b");
    const fuel = await greet("c", { limits: { fuel: 12_345_678n } });
    const [r1, r2, r3] = await Promise.all(
      [one, two, fuel].map(async (r) => (await t.host.store.runs.get(r.runId))!),
    );
    expect(r1!.configFingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r2!.configFingerprint).toBe(r1!.configFingerprint);
    expect(r3!.configFingerprint).not.toBe(r1!.configFingerprint);
    // Not the fingerprint of {} any more.
    expect(r1!.configFingerprint).not.toBe(
      "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    );
    expect(r3!.limits.fuel).toBe(12_345_678);
  });

  it("records the limits the sandbox applied: memory is the plugin's, the rest capped by policy", async () => {
    const result = await greet("m", { limits: { timeoutMs: 10 ** 9 } });
    const record = (await t.host.store.runs.get(result.runId))!;
    // The default policy caps the timeout at 300 s; memory is the plugin's own (its manifest asks 16).
    expect(record.limits).toMatchObject({ timeoutMs: 300_000, memoryPages: 16 });
    expect(result.usage.memoryPages).toBeLessThanOrEqual(record.limits.memoryPages!);
  });

  it("refuses input off the schema or not JSON before any run; checks output when asked", async () => {
    const before = (await t.host.store.runs.list({ limit: 1000 })).runs.length;
    const off = await t.host.runtime.invoke({
      pluginId: "example.hello",
      capability: "greet",
      input: json({ nam: "x" }),
      trigger: "cli",
    }).catch((e) => e);
    expect(off).toMatchObject({ code: "schema_mismatch", exitCode: 65, httpStatus: 422 });
    expect(off.message).toContain("must have required property 'name'");
    const bad = await t.host.runtime.invoke({
      pluginId: "example.hello",
      capability: "greet",
      input: new TextEncoder().encode("{bad"),
      trigger: "schedule",
    }).catch((e) => e);
    expect(bad).toMatchObject({ code: "invalid_json", exitCode: 65, httpStatus: 400 });
    // Refusals of a caller's input carry no stack: a client can send them as fast as it likes.
    for (const refused of [off, bad]) expect(refused.stack).not.toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBeGreaterThan(0);
    expect((await t.host.store.runs.list({ limit: 1000 })).runs.length).toBe(before);

    // An output schema the plugin's answer does not meet: the run fails with output_invalid.
    await t.host.runtime.load(
      await signedFirstParty("hello", t.key, (m) => {
        const caps = m.capabilities as Record<string, Record<string, unknown>>;
        caps.greet!.output = { type: "object", required: ["greeting"] };
      }),
      "test",
    );
    const checked = await greet("x", { output: "schema" });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.error.class).toBe("output_invalid");
    expect(checked.error.errors?.[0]?.path).toBe("/greeting");
    expect((await t.host.store.runs.get(checked.runId))?.status).toBe("error");
    expect((await greet("y")).ok).toBe(true); // unchecked by default
  });
});
