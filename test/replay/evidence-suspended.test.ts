/**
 * The "plugin suspended" evidence trigger: example.flaky fails until its
 * circuit breaker opens, and the host writes a signed bundle of its recent
 * runs (with the suspension's own events) that `host verify` accepts, and an
 * `evidence.written` event; and which runs such a bundle holds.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../host/cli/main.ts";
import type { EvidenceBody } from "../../host/core/evidence.ts";
import { suspensionWindow } from "../../host/core/evidence-trigger.ts";
import { createHost, type Host } from "../../host/host.ts";
import { openStore, type Store } from "../../host/store/mod.ts";
import { checkBundle, hostSigningKey, trustKey } from "../../host/trust/mod.ts";
import { newKey, signedFirstParty, trustStoreOf } from "../helpers/signing.ts";

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

let home: string;
let host: Host | undefined;
let store: Store | undefined;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "plughost-evidence-suspended-"));
});
afterEach(async () => {
  await host?.close();
  host = undefined;
  await store?.close();
  store = undefined;
  await rm(home, { recursive: true, force: true });
});

async function flakyHost(onSuspended: boolean): Promise<Host> {
  const key = await newKey("dev");
  const h = await createHost({
    home,
    trust: trustStoreOf(key),
    cache: false,
    installed: false,
    evidence: { dir: join(home, "evidence"), onRunFailed: ["timeout"], onSuspended },
  });
  // recovery "disable": no probe runs after the trip, so the runs are exactly these.
  await h.load(
    await signedFirstParty("flaky", key, (m) => {
      (m.limits as Record<string, unknown>).breaker = { failures: 3, recovery: "disable" };
    }),
    "flaky.wasm",
  );
  return h;
}

async function work(h: Host, fail: boolean): Promise<string> {
  const result = await h.invoke({
    pluginId: "example.flaky",
    capability: "work",
    input: json({ fail }),
    trigger: "cli",
    durable: true,
  });
  expect(result.ok).toBe(!fail);
  return result.runId;
}

describe("evidence on suspension", () => {
  it("a plugin its breaker suspends gets a verifying bundle of its recent runs and an evidence.written event", async () => {
    host = await flakyHost(true);
    const good = await work(host, false);
    const failed = [await work(host, true), await work(host, true), await work(host, true)];
    expect(host.runtime.status("example.flaky")?.state).toBe("suspended");
    await host.close(); // waits for bundles in progress
    host = undefined;

    const dir = join(home, "evidence");
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^suspended-example\.flaky-.+\.evidence$/);
    const bytes = await readFile(join(dir, files[0]!));
    const checked = await checkBundle(bytes);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    const body = checked.body as EvidenceBody;
    expect(body.selector).toMatchObject({ plugin: "example.flaky" });
    const ids = body.runs.map((r) => r.id);
    // The breaker's window (60 s by default) holds the onLoad hook run, the good run and the streak.
    expect(ids).toEqual(expect.arrayContaining([good, ...failed]));
    expect(body.runs.filter((r) => r.status === "error").map((r) => r.id)).toEqual(failed);
    expect(body.replay.map((r) => r.runId)).toEqual(expect.arrayContaining(failed));
    // The suspension's own events are in it: they say why.
    const suspended = body.events.find((e) =>
      e.type === "plugin.state_changed" && (e.payload as { to?: string }).to === "suspended"
    );
    expect(suspended?.payload).toMatchObject({
      reason: "circuit breaker opened: 3 consecutive failed runs",
    });
    expect(body.events.map((e) => e.type)).toContain("plugin.breaker_opened");
    expect(body.plugins).toMatchObject([{
      id: "example.flaky",
      manifest: { id: "example.flaky" },
    }]);

    // host verify, offline, with a trust store holding only the host's key.
    const verifierTrust = join(home, "verifier-trust");
    const { key } = await hostSigningKey(join(home, "keys"));
    await trustKey(verifierTrust, key.publicKey, { label: "host" });
    const out: string[] = [];
    const io = {
      stdout: (t: string) => void out.push(t),
      stderr: (t: string) => void out.push(t),
      env: { PLUGHOST_HOME: home },
      cwd: home,
    };
    expect(await main(["verify", join(dir, files[0]!), "--trust", verifierTrust], io)).toBe(0);
    expect(out.join("")).toMatch(/OK evidence bundle, \d+ run\(s\)/);

    store = await openStore({ url: `file:${join(home, "host.db")}` });
    const events = (await store.events.query({ type: "evidence.*", limit: 10 })).events;
    // The failed runs are plugin_error, not a configured onRunFailed class: only the suspension wrote.
    expect(events).toMatchObject([{
      type: "evidence.written",
      pluginId: "example.flaky",
      runId: null,
      payload: {
        file: join(dir, files[0]!),
        bytes: bytes.length,
        keyId: key.keyId,
        trigger: {
          kind: "plugin.suspended",
          reason: "circuit breaker opened: 3 consecutive failed runs",
        },
      },
    }]);
  });

  it("refuses an evidence option without a trigger", async () => {
    await expect(createHost({ home, installed: false, evidence: { dir: join(home, "ev") } }))
      .rejects.toMatchObject({ code: "invalid_input", message: /evidence needs a trigger/ });
  });

  it("writes nothing on suspension unless onSuspended is set", async () => {
    host = await flakyHost(false);
    for (let i = 0; i < 3; i++) await work(host, true);
    expect(host.runtime.status("example.flaky")?.state).toBe("suspended");
    await host.close();
    host = undefined;
    await expect(readdir(join(home, "evidence"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a suspension's window: the breaker's window, reaching back to its last `failures` runs", async () => {
    store = await openStore({ url: `file:${join(home, "window.db")}` });
    const started: number[] = [];
    for (let i = 0; i < 5; i++) {
      const run = await store.runs.start({
        pluginId: "p",
        moduleDigest: "sha256:" + "0".repeat(64),
        export: "work",
        trigger: "cli",
        input: new Uint8Array(),
      });
      await store.runs.finish(run.id, { status: "error", errorClass: "trap", errorMessage: "x" });
      started.push(Date.parse((await store.runs.get(run.id))!.startedAt));
    }
    const breaker = {
      failures: 2,
      windowMs: 1000,
      errorRate: 0.5,
      minCalls: 10,
      coolDownMs: 1000,
      recovery: "retry" as const,
    };
    // Every run is older than a 1 s window ending a minute later: the last 2 runs only.
    const at = Date.now() + 60_000;
    const late = await suspensionWindow(store, { pluginId: "p", at, breaker });
    expect(late.since).toBe(started[3]);
    expect(late.until).toBeGreaterThan(at);
    // A window that holds them all: from the first.
    const wide = await suspensionWindow(store, {
      pluginId: "p",
      at,
      breaker: { ...breaker, windowMs: 3_600_000 },
    });
    expect(wide.since).toBe(started[0]);
    // No runs at all: an empty window at the suspension.
    const none = await suspensionWindow(store, { pluginId: "q", at, breaker });
    expect(none.since).toBe(at);
  });
});
