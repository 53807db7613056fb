/**
 * Graceful shutdown over a real socket: calls in flight either finish within
 * the grace period or are marked interrupted; no run is left `running`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createHost } from "../../host/host.ts";
import { startServer } from "../../host/server/start.ts";
import { openStore, type Store } from "../../host/store/mod.ts";
import { signPlugin } from "../../host/trust/mod.ts";
import { newKey, trustStoreOf } from "../helpers/signing.ts";
import { fixture } from "../sandbox/fixtures.ts";
import { json, testHost } from "../capabilities/harness.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A server with a `spin` plugin whose `run` loops until its fuel or its timeout ends it: give it
 * fuel enough for the test's window (the default 1e9 lasts ~200 ms on Deno).
 */
async function spinServer(graceMs: number, timeoutMs = 60_000, fuel?: bigint) {
  const dir = mkdtempSync(join(tmpdir(), "plughost-shutdown-"));
  dirs.push(dir);
  const key = await newKey();
  // Worker mode, so a spinning call leaves the event loop free (as a plugin with host functions).
  const host = await createHost({
    home: dir,
    trust: trustStoreOf(key),
    cache: false,
    hostFunctions: () => ({ functions: {}, needsWorker: true }),
    ...(fuel === undefined ? {} : { defaults: { fuel } }),
  });
  const url = host.paths.db;
  const manifest = {
    schemaVersion: 1,
    id: "test.spin",
    name: "Spin",
    description: "Loops until stopped",
    version: "1.0.0",
    engines: { host: "^0.1.0", abi: 1 },
    capabilities: { run: { export: "run" } },
    limits: { timeoutMs },
  };
  const signed = await signPlugin(fixture("spin"), key, { manifest: JSON.stringify(manifest) });
  await host.load(signed.wasm, "test");
  const { token } = await host.store.tokens.create({ name: "t", scopes: ["invoke"] });
  const server = await startServer({
    host,
    port: 0,
    graceMs,
    options: { rateLimitPerSecond: 0 },
  });
  const call = () =>
    fetch(`${server.url}/v1/plugins/test.spin/capabilities/run`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
    }).then((r) => r.status, () => "refused" as const);
  return { server, url, call, host };
}

async function statuses(url: string): Promise<string[]> {
  const store: Store = await openStore({ url });
  try {
    const rows = await store.client.execute("SELECT status FROM run_records");
    return rows.rows.map((r) => String(r[0]));
  } finally {
    await store.close();
  }
}

type Served = Awaited<ReturnType<typeof startServer>>;

/** Runs started (the core's in-flight gauge): past the HTTP layer and the config read. */
function runsStarted(server: Served): number {
  return server.deps.runtime.metrics.series().reduce((sum, s) => sum + s.inflight, 0);
}

/**
 * Waits until `n` calls are in flight and their runs have started. Counting
 * the HTTP layer's calls alone is not enough: a call may still be on its way
 * to its run (reading its config) when the grace period ends, and is then
 * refused rather than interrupted (its own test below).
 */
async function waitForInflight(server: Served, n: number) {
  for (let i = 0; i < 1000 && (server.deps.inflight.size < n || runsStarted(server) < n); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(server.deps.inflight.size).toBe(n);
  expect(runsStarted(server)).toBe(n);
}

describe("graceful shutdown", () => {
  it("marks a call still running after the grace period interrupted and drains the writer", async () => {
    // The most fuel the default policy allows (10e9): the default 1e9 ran out in 199 ms on Deno on
    // an idle machine, so one call ended fuel_exhausted before the grace period did.
    const { server, url, call } = await spinServer(200, 60_000, 10_000_000_000n);
    const pending = [call(), call()];
    await waitForInflight(server, 2);
    const { interrupted } = await server.close();
    expect(interrupted.length).toBe(2);
    await Promise.all(pending);
    const after = await statuses(url);
    expect(after).toEqual(["interrupted", "interrupted"]);
    const store = await openStore({ url });
    const events = await store.events.query({ type: "run.interrupted" });
    expect(events.events.length).toBe(2);
    // Their calls, ended in their workers by the host's close, add no second end.
    expect((await store.events.query({ type: "run.failed" })).events).toEqual([]);
    await store.close();
    // Closed: nothing listens any more.
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it("refuses a call still on its way to its run once it stops starting runs, leaving no run", async () => {
    const { server, url, host } = await spinServer(200);
    // invoke() suspends at its config read, before its run starts; the grace period ends there
    // (the server calls stopStarting() before it marks what is in flight interrupted).
    const late = host.runtime.invoke({
      pluginId: "test.spin",
      capability: "run",
      input: new TextEncoder().encode("{}"),
      trigger: "http",
    });
    host.runtime.stopStarting(["http"]);
    await expect(late).rejects.toMatchObject({ code: "not_ready" });
    const { interrupted } = await server.close();
    expect(interrupted).toEqual([]);
    expect(await statuses(url)).toEqual([]);
  });

  it("lets a call finish within the grace period (it ends by its own limit, not interrupted)", async () => {
    // Fuel far beyond what the loop can burn before its timeout, so the call's end is decided by
    // the timeout alone, whatever the machine's speed: 10e9 lasts ~2 s here (5e9/s on Deno, warm)
    // and still 0.67 s on a machine three times as fast (1e9 ran out first on an idle machine).
    const { server, url, call } = await spinServer(60_000, 500, 10_000_000_000n);
    const pending = call();
    await waitForInflight(server, 1);
    const { interrupted } = await server.close();
    expect(interrupted).toEqual([]);
    expect(await pending).toBe(504); // the plugin's own 0.5 s timeout ended the loop
    expect(await statuses(url)).toEqual(["error"]);
  });
});

describe("stopStarting", () => {
  it("refuses new runs of the triggers it names only; others run until close()", async () => {
    const t = await testHost();
    try {
      await t.load("hello");
      const greet = (trigger: "http" | "route" | "schedule" | "event" | "cli") =>
        t.host.runtime.invoke({
          pluginId: "example.hello",
          capability: "greet",
          input: json({ name: trigger }),
          trigger,
        });
      t.host.runtime.stopStarting(["http", "route"]);
      await expect(greet("http")).rejects.toMatchObject({ code: "not_ready" });
      await expect(greet("route")).rejects.toMatchObject({ code: "not_ready" });
      // The scheduler's and delivery's claimed work still runs: close() stops them first.
      for (const trigger of ["schedule", "event", "cli"] as const) {
        expect((await greet(trigger)).ok).toBe(true);
      }
    } finally {
      await t.close();
    }
  });
});
