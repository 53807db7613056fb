/**
 * Delivery as operators see it: `host events subscribers | dead-letters |
 * redeliver` (in process, through the CLI's own `run`), the HTTP routes, and
 * /metrics, over a database with a real dead letter.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../../host/cli/command.ts";
import { command } from "../../host/cli/events.ts";
import { createApp } from "../../host/server/app.ts";
import type { Host } from "../../host/host.ts";
import { type RunningDelivery, startDelivery } from "../../host/delivery/mod.ts";
import { signedFirstParty } from "../helpers/signing.ts";
import { type TestHome, testHome, until } from "./helpers.ts";

describe("delivery surfaces", () => {
  let home: TestHome;
  let host: Host;
  let letterId: string;
  let delivery: RunningDelivery;
  const deliveryOptions = { pollMs: 5, retry: { baseMs: 1, maxAttempts: 2 } };
  beforeAll(async () => {
    home = await testHome();
    host = await home.open();
    await host.load(
      await signedFirstParty("failure-counter", home.key, (m) => {
        m["id"] = "test.broken";
        m["hooks"] = { onEvent: { export: "on_event", topics: ["orders.*"] } };
        m["permissions"] = { kv: { quotaBytes: 1 }, events: { subscribe: ["orders.*"] } };
      }),
      "test:broken",
    );
    delivery = host.startDelivery(deliveryOptions);
    await until(() => delivery.status().some((l) => l.held));
    await host.events.append({ type: "orders.created", payload: {} });
    await until(async () => (await host.store.delivery.deadLetters()).length === 1);
    letterId = (await host.store.delivery.deadLetters())[0]!.id;
  }, 60_000);
  afterAll(async () => {
    await delivery?.stop();
    await host?.close();
    rmSync(home.home, { recursive: true, force: true });
  });

  const cli = async (...args: string[]) => {
    let stdout = "";
    let stderr = "";
    const io: CliIo = {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      env: {},
      cwd: home.home,
    };
    const code = await command.run([...args, "--db", `file:${join(home.home, "host.db")}`], io);
    return { code, stdout, stderr };
  };

  it("lists subscribers and dead letters, and queues a redelivery, on the CLI", async () => {
    const subs = await cli("subscribers", "--json");
    expect(subs.code).toBe(0);
    expect(JSON.parse(subs.stdout).subscribers).toMatchObject([
      { pluginId: "test.broken", deadLettered: 1, failures: 2, lag: expect.any(Number) },
    ]);
    const letters = await cli("dead-letters");
    expect(letters.stdout).toContain(letterId);
    expect(letters.stdout).toMatch(/orders\.created +2 +dead/);
    const bad = await cli("dead-letters", "--state", "gone").catch((e) => e);
    expect(bad.message).toMatch(/--state takes dead, pending or redelivered/);
    const missing = await cli("redeliver").catch((e) => e);
    expect(missing.message).toMatch(/Missing the dead letter ID/);
    const unknown = await cli("nonsense").catch((e) => e);
    expect(unknown.message).toMatch(/Unknown subcommand 'nonsense'/);
  });

  it("serves them over HTTP (redeliver needs admin) and in /metrics", async () => {
    const { app } = createApp({ host });
    const admin = await host.store.tokens.create({ name: "a", scopes: ["admin"] });
    const reader = await host.store.tokens.create({ name: "r", scopes: ["read"] });
    const get = (path: string, token: string, method = "GET") =>
      app.request(path, { method, headers: { authorization: `Bearer ${token}` } });
    const listed = await get("/v1/events/dead-letters?pluginId=test.broken", reader.token);
    expect(listed.status).toBe(200);
    expect((await listed.json()).deadLetters).toMatchObject([{ id: letterId, state: "dead" }]);
    const subs = await get("/v1/events/subscribers", reader.token);
    expect((await subs.json()).subscribers[0]).toMatchObject({ pluginId: "test.broken" });
    const path = `/v1/events/dead-letters/${letterId}/redeliver`;
    expect((await get(path, reader.token, "POST")).status).toBe(403);
    // Stopped while the two requests run: a live dispatcher could redeliver the letter to the
    // broken subscriber and see it dead again between them, which the second would then queue.
    await delivery.stop();
    const queued = await get(path, admin.token, "POST");
    expect(queued.status).toBe(202);
    expect(await queued.json()).toMatchObject({ id: letterId, state: "pending" });
    const again = await get(path, admin.token, "POST");
    expect(again.status).toBe(409);
    expect(again.headers.get("content-type")).toContain("application/problem+json");
    expect((await get("/v1/events/dead-letters/nope/redeliver", admin.token, "POST")).status)
      .toBe(404);
    // The subscriber is still broken: the redelivery fails and the letter is dead again.
    delivery = startDelivery({ ...deliveryOptions, runtime: host.runtime, store: host.store });
    await until(async () => (await host.store.delivery.deadLetterById(letterId))?.attempts === 3);
    expect((await host.store.delivery.deadLetterById(letterId))?.state).toBe("dead");
    const metrics = await (await get("/metrics", reader.token)).text();
    expect(metrics).toMatch(/^plughost_event_delivery_lag\{plugin="test.broken"\} \d+$/m);
    expect(metrics).toContain('plughost_event_dead_letters_total{plugin="test.broken"} 1');
    expect(metrics).toContain(
      'plughost_event_deliveries_total{plugin="test.broken",outcome="failed"} 3',
    );
  });
});
