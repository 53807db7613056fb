/**
 * The circuit breaker end to end, over the HTTP app and the example.flaky
 * plugin: failures open it (suspended), calls then get 503 problem+json with
 * Retry-After, a probe after the cool-down that fails keeps it open, one that
 * succeeds closes it (active); every transition is an event; the state shows
 * in GET /v1/plugins and /metrics; POST /v1/plugins/{id}/resume closes it at
 * once. Other triggers obey it too (the check is in the core's invoke).
 */
import { afterEach, describe, expect, it } from "vitest";
import { signedFirstParty } from "../helpers/signing.ts";
import { type Harness, harness } from "../server/harness.ts";
import { until } from "../scheduler/helpers.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

type Breaker = { failures?: number; coolDownMs?: number; recovery?: string };

async function flaky(breaker: Breaker): Promise<Harness> {
  const harnessed = await harness();
  await harnessed.runtime.load(
    await signedFirstParty("flaky", harnessed.key, (m) => {
      (m.limits as Record<string, unknown>).breaker = breaker;
    }),
    "test",
  );
  return harnessed;
}

function work(fail: boolean): Promise<Response> {
  return h!.call("/v1/plugins/example.flaky/capabilities/work", {
    method: "POST",
    token: h!.tokens.invoke,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ fail }),
  });
}

async function lifecycle(): Promise<{ state: string; breaker: { state: string } }> {
  const response = await h!.call("/v1/plugins/example.flaky", { token: h!.tokens.read });
  return (await response.json()).lifecycle;
}

async function types(): Promise<string[]> {
  await h!.store.flush();
  const events = (await h!.store.events.query({ pluginId: "example.flaky", limit: 1000 })).events;
  return events
    .filter((e) => e.type.startsWith("plugin.breaker_") || e.type === "plugin.state_changed")
    .map((e) =>
      e.type === "plugin.state_changed" ? `state:${(e.payload as { to: string }).to}` : e.type
    );
}

describe("circuit breaker", () => {
  it("trips on failures, answers 503 with Retry-After, and a good probe closes it", async () => {
    h = await flaky({ failures: 3, coolDownMs: 300 });
    expect((await lifecycle()).state).toBe("active");
    for (let i = 0; i < 3; i++) expect((await work(true)).status).toBe(422);
    expect(await lifecycle()).toMatchObject({ state: "suspended", breaker: { state: "open" } });

    const refused = await work(false);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const problem = await refused.json();
    expect(problem.type).toMatch(/plugin_suspended$/);
    expect(problem.detail).toMatch(/host plugins resume example\.flaky/);
    // Refused before it ran: no RunRecord for it.
    expect(refused.headers.get("x-run-id")).toBeNull();

    const metrics = await (await h.call("/metrics", { token: h.tokens.read })).text();
    expect(metrics).toContain('plughost_plugins_state{state="suspended"} 1');
    expect(metrics).toContain('plughost_plugins_state{state="active"} 1'); // example.hello

    // Other triggers obey it too: the check is in the core's invoke.
    await expect(h.runtime.invoke({
      pluginId: "example.flaky",
      capability: "work",
      input: new TextEncoder().encode("{}"),
      trigger: "cli",
    })).rejects.toMatchObject({ code: "plugin_suspended" });

    // After the cool-down, one probe: it fails, so the breaker opens again (still suspended).
    let probe: Response | undefined;
    expect(
      await until(async () => {
        probe = await work(true);
        return probe.status !== 503;
      }, 20_000),
    ).toBe(true);
    expect(probe!.status).toBe(422);
    expect((await work(false)).status).toBe(503);
    // The next probe succeeds: closed, active, and calls run again.
    expect(await until(async () => (await work(false)).status === 200, 20_000)).toBe(true);
    expect(await lifecycle()).toMatchObject({ state: "active", breaker: { state: "closed" } });
    expect((await work(false)).status).toBe(200);

    expect(await types()).toEqual([
      "state:installed",
      "state:loading",
      "state:active",
      "plugin.breaker_opened",
      "state:suspended",
      "plugin.breaker_half_open",
      "plugin.breaker_opened", // the failed probe
      "plugin.breaker_half_open",
      "plugin.breaker_closed",
      "state:active",
    ]);
    const opened = (await h.store.events.query({ type: "plugin.breaker_opened", limit: 10 }))
      .events;
    expect(opened[0]?.payload).toMatchObject({
      reason: "3 consecutive failed runs",
      probe: false,
      recovery: "retry",
      lastError: "plugin_error",
    });
    expect(opened[1]?.payload).toMatchObject({ reason: "the probe call failed", probe: true });
    // Queryable over the API: breaker transitions as events, the onLoad hook as a run.
    const viaApi = await h.call("/v1/events?type=plugin.breaker_opened&pluginId=example.flaky", {
      token: h.tokens.read,
    });
    expect((await viaApi.json()).events).toHaveLength(2);
    const runs = (await (await h.call("/v1/runs?pluginId=example.flaky&limit=1000", {
      token: h.tokens.read,
    })).json()).runs as { capability: string; trigger: string; status: string }[];
    expect(runs.filter((r) => r.trigger === "hook")).toEqual([
      expect.objectContaining({ capability: "hook:onLoad", status: "ok" }),
    ]);
  }, 60_000);

  it(
    "resume closes it at once; recovery 'disable' never probes and sends no Retry-After",
    async () => {
      h = await flaky({ failures: 2, recovery: "disable" });
      for (let i = 0; i < 2; i++) await work(true);
      const refused = await work(false);
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBeNull();
      expect((await refused.json()).detail).toMatch(/stays out until an operator runs/);
      // Only an admin may resume.
      const path = "/v1/plugins/example.flaky/resume";
      expect((await h.call(path, { method: "POST", token: h.tokens.read })).status).toBe(403);
      const resumed = await h.call(path, { method: "POST", token: h.tokens.admin });
      expect(resumed.status).toBe(200);
      expect((await resumed.json()).lifecycle).toMatchObject({ state: "active" });
      expect((await work(false)).status).toBe(200);
      // Resuming an active plugin is a conflict.
      const again = await h.call(path, { method: "POST", token: h.tokens.admin });
      expect(again.status).toBe(409);
      const states = await types();
      expect(states.slice(-3)).toEqual([
        "state:suspended",
        "plugin.breaker_closed",
        "state:active",
      ]);
    },
    60_000,
  );

  it("recovery 'restart' restarts the instance pool when it opens", async () => {
    h = await flaky({ failures: 1, coolDownMs: 100, recovery: "restart" });
    expect((await work(true)).status).toBe(422);
    expect(
      await until(async () => {
        await h!.store.flush();
        const page = await h!.store.events.query({ type: "plugin.restarted", limit: 10 });
        return page.events.length === 1;
      }, 20_000),
    ).toBe(true);
    expect(await until(async () => (await work(false)).status === 200, 20_000)).toBe(true);
    expect((await lifecycle()).state).toBe("active");
  }, 60_000);
});
