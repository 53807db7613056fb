/**
 * A hostile plugin against the audit trail: it cannot forge host events by
 * what it logs, cannot publish under a reserved root in another letter case,
 * and cannot write more events per run than the host's budget, whether by
 * logging, publishing or being refused (denied calls of every kind write at
 * most `deniedPerRun` audit events plus one count). Real host, real sandbox,
 * signed plugins. See docs/security.md.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditDenied } from "../../host/capabilities/audit.ts";
import type { CapabilityContext } from "../../host/capabilities/context.ts";
import { defaultCapabilityPolicy } from "../../host/capabilities/policy.ts";
import { RunRegistry } from "../../host/capabilities/runs.ts";
import { ulid } from "../../host/store/mod.ts";
import { signPlugin } from "../../host/trust/mod.ts";
import { outputOf, type TestHost, testHost } from "../capabilities/harness.ts";
import { ops, probeWasm, signedProbe } from "../capabilities/probe.ts";
import { fixture } from "../sandbox/fixtures.ts";

const BUDGET = 50;

describe("hostile plugin vs the audit trail", () => {
  let t: TestHost;
  beforeAll(async () => {
    await probeWasm();
    t = await testHost({ policy: { logLinesPerRun: 20, publishPerRun: BUDGET } });
    const manifest = {
      schemaVersion: 1,
      id: "evil.logger",
      version: "1.0.0",
      name: "Logs what it is told",
      engines: { host: "^0.1.0", abi: 1 },
      capabilities: {
        log_error: { export: "log_error" },
        log_many: { export: "log_many" },
      },
    };
    const signed = await signPlugin(fixture("log-input"), t.key, {
      manifest: JSON.stringify(manifest),
    });
    await t.host.runtime.load(signed.wasm, "test");
    await t.host.runtime.load(
      await signedProbe(t.key, "evil.pub", { events: { publish: ["**"] } }),
      "test",
    );
  }, 120_000);
  afterAll(async () => await t?.close());

  const raw = (capability: string, text: string) =>
    t.host.runtime.invoke({
      pluginId: "evil.logger",
      capability,
      // A JSON string (inputs are JSON); the plugin logs it without its quotes.
      input: new TextEncoder().encode(JSON.stringify(text)),
      trigger: "cli",
      durable: true,
    });

  it("logging Extism's own refusal text makes a plugin.log line, never an audit event", async () => {
    // (A plugin logging "memory limit exceeded" is the sandbox's case: test/sandbox.)
    for (const text of ["http_request is not enabled", "http_status_code is not enabled"]) {
      const result = await raw("log_error", text);
      expect(result.ok, JSON.stringify(result)).toBe(true);
      const events = await t.events({ runId: result.runId });
      expect(events.filter((e) => e.type.startsWith("audit."))).toEqual([]);
      const line = events.find((e) => e.type === "plugin.log");
      expect(line).toMatchObject({
        level: "error",
        source: "plugin:evil.logger",
        payload: { message: text },
      });
    }
    expect((await t.events({ type: "audit.denied" })).filter((e) => e.source === "host"))
      .toEqual([]);
  });

  it("a log flood is cut at the per-run line limit and reported once by the host", async () => {
    const result = await raw("log_many", "spam");
    expect(result.ok).toBe(true);
    const events = await t.events({ runId: result.runId });
    expect(events.filter((e) => e.type === "plugin.log").length).toBe(20);
    // At least 480: a call re-run after its main-thread slice (docs/sandbox.md) counts the
    // lines of the cut attempt too.
    const dropped = events.find((e) => e.type === "plugin.log_dropped")?.payload as {
      dropped: number;
    };
    expect(dropped.dropped).toBeGreaterThanOrEqual(480);
  });

  it("refuses reserved roots in any letter case, audited as the host", async () => {
    const topics = ["Audit.denied", "RUN.finished", "pLuGiN.loaded", "HOST.x", "Server.error"];
    const out = outputOf(
      await t.call(
        "evil.pub",
        "run",
        ops(...topics.map((topic) => ({ fn: "event_publish", req: { topic } }))),
      ),
    ) as { error?: { code: string } }[];
    expect(out.map((o) => o.error?.code)).toEqual(topics.map(() => "permission_denied"));
    const published = (await t.events()).filter((e) => topics.includes(e.type));
    expect(published).toEqual([]);
  });

  it("counts publishes, log lines and refused publishes against one budget per run", async () => {
    const list = [
      ...Array.from({ length: 10 }, (_, i) => ({ log: `line ${i}` })),
      ...Array.from({ length: 20 }, () => ({ fn: "event_publish", req: { topic: "AUDIT.x" } })),
      ...Array.from({ length: 40 }, () => ({ fn: "event_publish", req: { topic: "ok.x" } })),
    ];
    const result = await t.call("evil.pub", "run", ops(...list));
    const out = outputOf(result) as { ok?: unknown; error?: { code: string } }[];
    // 10 lines + 20 refusals leave 20 of the 50 for real publishes; the rest are refused.
    expect(out.filter((o) => o.ok !== undefined).length).toBe(BUDGET - 30);
    expect(out.filter((o) => o.error?.code === "rate_limited").length).toBe(20);
    const events = await t.events({ runId: result.runId });
    const fromPlugin = events.filter((e) => e.source === "plugin:evil.pub");
    const audits = events.filter((e) => e.type === "audit.denied");
    expect(fromPlugin.length + audits.length).toBeLessThanOrEqual(BUDGET);
  });
});

describe("hostile plugin looping denied calls", () => {
  const DENIED = 10;
  const CALLS = 200;
  let t: TestHost;
  beforeAll(async () => {
    t = await testHost({ policy: { deniedPerRun: DENIED } });
    const manifest = {
      schemaVersion: 1,
      id: "evil.denied",
      version: "1.0.0",
      name: "Asks for what it was not granted",
      engines: { host: "^0.1.0", abi: 1 },
      capabilities: {
        http: { export: "http" },
        kv: { export: "kv" },
        secret: { export: "secret" },
      },
    };
    const signed = await signPlugin(fixture("denied-loop"), t.key, {
      manifest: JSON.stringify(manifest),
    });
    await t.host.runtime.load(signed.wasm, "test");
  }, 120_000);
  afterAll(async () => await t?.close());

  // The fixture makes one denied call per input byte: a JSON string of CALLS bytes.
  const loop = (capability: string) =>
    t.host.runtime.invoke({
      pluginId: "evil.denied",
      capability,
      input: new TextEncoder().encode(JSON.stringify("x".repeat(CALLS - 2))),
      trigger: "cli",
      durable: true,
    });

  const cases = [
    {
      capability: "http",
      payload: {
        function: "http_request",
        asked: {},
        reason: "the manifest does not grant permissions.http",
      },
    },
    {
      capability: "kv",
      payload: {
        function: "kv_get",
        asked: { key: "k" },
        reason: "the manifest does not grant permissions.kv",
      },
    },
    {
      capability: "secret",
      payload: { function: "secret_get", asked: { name: "UNDECLARED" } },
    },
  ];
  for (const { capability, payload } of cases) {
    it(`${capability}: ${CALLS} denials write ${DENIED} audit.denied events and one count`, async () => {
      for (let round = 0; round < 2; round++) {
        // Twice: the budget is per run, so the second run gets its own.
        const result = await loop(capability);
        expect(result.ok, JSON.stringify(result)).toBe(true);
        if (capability !== "http") {
          // Past the budget the call still answers permission_denied.
          expect(outputOf(result)).toMatchObject({ error: { code: "permission_denied" } });
        }
        const events = await t.events({ runId: result.runId });
        const audits = events.filter((e) => e.type === "audit.denied");
        expect(audits.length).toBe(DENIED);
        for (const a of audits) {
          expect(a).toMatchObject({ source: "host", pluginId: "evil.denied", payload });
        }
        const dropped = events.filter((e) => e.type === "audit.denied_dropped");
        expect(dropped.length).toBe(1);
        expect(dropped[0]).toMatchObject({ source: "host", level: "warn" });
        const count = dropped[0]!.payload as { dropped: number; limit: number };
        expect(count.limit).toBe(DENIED);
        // At least CALLS - DENIED: a call re-run after its main-thread slice (docs/sandbox.md)
        // makes the cut attempt's denials again, and those count too.
        expect(count.dropped).toBeGreaterThanOrEqual(CALLS - DENIED);
      }
    });
  }

  it("a run that stays within the budget writes no count", async () => {
    const result = await t.host.runtime.invoke({
      pluginId: "evil.denied",
      capability: "kv",
      input: new TextEncoder().encode(JSON.stringify("x".repeat(DENIED - 2))),
      trigger: "cli",
      durable: true,
    });
    const events = await t.events({ runId: result.runId });
    expect(events.filter((e) => e.type === "audit.denied").length).toBe(DENIED);
    expect(events.filter((e) => e.type === "audit.denied_dropped")).toEqual([]);
  });
});

describe("denials the host cannot tie to one run", () => {
  const LIMIT = 4;
  let t: TestHost;
  let ctx: CapabilityContext;
  beforeAll(async () => {
    t = await testHost();
    ctx = {
      store: t.host.store,
      invoke: () => Promise.reject(new Error("not used by auditDenied")),
      secrets: { get: () => undefined },
      secretNames: new Map(),
      known: () => false,
      policy: { ...defaultCapabilityPolicy, deniedPerRun: LIMIT },
      runs: new RunRegistry(),
      views: new Map(),
    };
  });
  afterAll(async () => await t?.close());

  const deny = (pluginId: string, times: number) => {
    for (let i = 0; i < times; i++) {
      auditDenied(ctx, { pluginId, runId: null }, "http_request", {}, "test refusal");
    }
  };
  const of = async (type: string, pluginId: string) =>
    (await t.events({ type })).filter((e) => e.pluginId === pluginId);

  it("outside any run: the plugin's budget, then one audit.denied_dropped", async () => {
    deny("x.outside", 3 * LIMIT);
    expect((await of("audit.denied", "x.outside")).length).toBe(LIMIT);
    expect((await of("audit.denied_dropped", "x.outside")).map((e) => e.payload)).toEqual([
      { limit: LIMIT, outsideRun: true },
    ]);
    deny("x.outside", LIMIT);
    expect((await of("audit.denied", "x.outside")).length).toBe(LIMIT);
    expect((await of("audit.denied_dropped", "x.outside")).length).toBe(1);
  });

  it("with several runs in progress: counted against each, written while one has room", async () => {
    const a = ctx.runs.begin(ulid(), "x.two");
    const b = ctx.runs.begin(ulid(), "x.two");
    auditDenied(ctx, { pluginId: "x.two", runId: a.runId }, "kv_get", { key: "k" }, "test");
    deny("x.two", LIMIT + 3);
    // run-a had one fewer left, so its count starts one earlier; run-b keeps the events coming.
    expect([a.deniedAudited, a.deniedDropped]).toEqual([LIMIT, 4]);
    expect([b.deniedAudited, b.deniedDropped]).toEqual([LIMIT, 3]);
    expect((await of("audit.denied", "x.two")).length).toBe(1 + LIMIT);
    ctx.runs.end(a.runId);
    ctx.runs.end(b.runId);
  });

  it("a re-run attempt (after the main-thread slice) does not audit again what the first did", async () => {
    const run = ctx.runs.begin(ulid(), "x.rerun");
    const who = { pluginId: "x.rerun", runId: run.runId };
    const deny = (key: string) => auditDenied(ctx, who, "kv_get", { key }, "not granted");
    // First attempt: a, b. The re-run gets as far again and further: a, b, a, c.
    deny("a"), deny("b");
    ctx.runs.newAttempt(run.runId);
    deny("a"), deny("b"), deny("a"), deny("c");
    const keys = (await of("audit.denied", "x.rerun")).map((e) =>
      (e.payload as { asked: { key: string } }).asked.key
    );
    // What one uncut run would have written (LIMIT is 4): a, b, a, c.
    expect(keys.sort()).toEqual(["a", "a", "b", "c"]);
    expect([run.deniedAudited, run.deniedDropped]).toEqual([4, 0]);
    ctx.runs.end(run.runId);
  });
});
