/**
 * Event delivery's rules on a real host (docs/delivery.md): retries with
 * backoff then a dead letter, operator redelivery, TTL, priority order,
 * topics granted, no feedback loop on a subscriber's own failures, the
 * example plugin on real run.failed events, and the lease between hosts.
 */
import { Buffer } from "node:buffer";
import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { startDelivery } from "../../host/delivery/mod.ts";
import type { Host } from "../../host/host.ts";
import { lifecycleSettings } from "../../host/policy/mod.ts";
import { ops, signedProbe } from "../capabilities/probe.ts";
import { signedFirstParty } from "../helpers/signing.ts";
import {
  delivered,
  gatedProvider,
  loadSubscriber,
  type TestHome,
  testHome,
  until,
} from "./helpers.ts";

const fast = { pollMs: 5, retry: { baseMs: 1, maxMs: 4, maxAttempts: 3 } };

describe("event delivery", () => {
  const open: { home: TestHome; hosts: Host[] }[] = [];
  afterEach(async () => {
    for (const { home, hosts } of open.splice(0)) {
      for (const host of hosts) await host.close();
      rmSync(home.home, { recursive: true, force: true });
    }
  });
  async function setup(options: Parameters<TestHome["open"]>[0] = {}) {
    const home = await testHome();
    const host = await home.open(options);
    open.push({ home, hosts: [host] });
    return { home, host };
  }
  const publish = (host: Host, type: string, payload: unknown = {}, ts?: number) =>
    host.events.append({ type, source: "host", payload, ...(ts === undefined ? {} : { ts }) });

  it(
    "retries a failing subscriber with backoff, dead-letters the event, and moves on in order",
    async () => {
      // Five failed runs open the subscriber's circuit breaker: its lane waits out the cool-down
      // without spending attempts (30 s by default; 200 ms here, by operator policy).
      const { home, host } = await setup({
        lifecycle: lifecycleSettings({
          schemaVersion: 1,
          plugins: { "test.*": { breaker: { coolDownMs: 200 } } },
        }),
      });
      // A KV quota of 1 byte: every delivery's kv_set fails, so every run fails.
      await loadSubscriber(host, home.key, "test.broken", { topics: ["orders.*"] });
      const wasm = await signedFirstParty("failure-counter", home.key, (m) => {
        m["id"] = "test.broken";
        m["hooks"] = { onEvent: { export: "on_event", topics: ["orders.*"] } };
        m["permissions"] = { kv: { quotaBytes: 1 }, events: { subscribe: ["orders.*"] } };
      });
      await host.load(wasm, "test:broken");
      const delivery = host.startDelivery(fast);
      await until(() => delivery.status().some((l) => l.held));
      const a = await publish(host, "orders.created", { n: 1 });
      const b = await publish(host, "orders.created", { n: 2 });
      await until(async () => (await host.store.delivery.deadLetters()).length === 2);
      const rows = await host.store.delivery.deliveries("test.broken");
      expect(rows.map((r) => [r.eventId, r.attempt, r.status])).toEqual([
        [a.id, 1, "error"],
        [a.id, 2, "error"],
        [a.id, 3, "error"],
        [b.id, 1, "error"],
        [b.id, 2, "error"],
        [b.id, 3, "error"],
      ]);
      const letters = await host.store.delivery.deadLetters({ pluginId: "test.broken" });
      expect(letters.map((l) => [l.eventId, l.attempts, l.state, l.topic])).toEqual([
        [b.id, 3, "dead", "orders.created"],
        [a.id, 3, "dead", "orders.created"],
      ]);
      expect(letters[0]!.errorMessage).toMatch(/quota/i);
      const [sub] = await host.store.delivery.subscriptions();
      expect(sub).toMatchObject({ pluginId: "test.broken", failures: 6, deadLettered: 2 });
      await host.store.flush();
      const reported = await host.events.query({ type: "delivery.dead_lettered" });
      expect(reported.events.map((e) => e.payload)).toMatchObject([
        { eventId: a.id, attempts: 3, deadLetterId: letters[1]!.id },
        { eventId: b.id, attempts: 3, deadLetterId: letters[0]!.id },
      ]);

      // Fixed (a version with room in KV), the operator redelivers the first dead letter.
      await loadSubscriber(host, home.key, "test.broken", { topics: ["orders.*"] });
      const queued = await host.store.delivery.requestRedelivery(letters[1]!.id, Date.now());
      expect(queued.state).toBe("pending");
      await expect(host.store.delivery.requestRedelivery(letters[1]!.id, Date.now())).rejects
        .toMatchObject({ code: "conflict" });
      await expect(host.store.delivery.requestRedelivery("nope", Date.now())).rejects
        .toMatchObject({ code: "not_found" });
      delivery.poke();
      await until(async () =>
        (await host.store.delivery.deadLetterById(letters[1]!.id))?.state === "redelivered"
      );
      expect(await delivered(host, "test.broken")).toEqual([a.id]);
      expect((await host.store.delivery.deadLetterById(letters[1]!.id))?.attempts).toBe(4);
    },
    60_000,
  );

  it("skips events older than the hook's TTL, counting them", async () => {
    const { home, host } = await setup();
    await loadSubscriber(host, home.key, "test.ttl", { topics: ["ticks.*"], ttlMs: 60_000 });
    const delivery = host.startDelivery(fast);
    await until(() => delivery.status().some((l) => l.held));
    await publish(host, "ticks.old", {}, Date.now() - 120_000);
    const fresh = await publish(host, "ticks.new");
    await until(async () => (await delivered(host, "test.ttl")).length === 1);
    expect(await delivered(host, "test.ttl")).toEqual([fresh.id]);
    const [sub] = await host.store.delivery.subscriptions();
    expect(sub).toMatchObject({ expired: 1, delivered: 1 });
  }, 60_000);

  it(
    "starts the higher priority first when several are due for the same event (ties by id)",
    async () => {
      const gate = gatedProvider("(none)");
      const { home, host } = await setup({ hostFunctions: gate.provider });
      await loadSubscriber(host, home.key, "test.a", { topics: ["jobs.*"], priority: 0 });
      await loadSubscriber(host, home.key, "test.c", { topics: ["jobs.*"], priority: 5 });
      await loadSubscriber(host, home.key, "test.b", { topics: ["jobs.*"], priority: 5 });
      // Subscribe (cursors at the end of the log), stop, publish, and start again: the event is
      // due to all three at the same poll.
      const first = startDelivery({ runtime: host.runtime, store: host.store, pollMs: 5 });
      await until(() => first.status().filter((l) => l.held).length === 3);
      await first.stop();
      const job = await publish(host, "jobs.run");
      const again = host.startDelivery({ pollMs: 5 });
      for (const id of ["test.a", "test.b", "test.c"]) {
        await until(async () => (await delivered(host, id)).length === 1);
      }
      expect(gate.entered).toEqual(["test.b", "test.c", "test.a"]);
      expect(again.status().map((l) => l.pluginId)).toEqual(["test.b", "test.c", "test.a"]);
      expect(await delivered(host, "test.a")).toEqual([job.id]);
    },
    60_000,
  );

  it(
    "delivers only topics both the hook and permissions.events.subscribe name, and warns at load",
    async () => {
      const { home, host } = await setup();
      await loadSubscriber(host, home.key, "test.narrow", {
        topics: ["orders.*", "secrets.*"],
        granted: ["orders.*"],
      });
      const delivery = host.startDelivery(fast);
      await until(() => delivery.status().some((l) => l.held));
      await publish(host, "secrets.leaked");
      const order = await publish(host, "orders.created");
      await publish(host, "other.thing");
      await until(async () => (await delivered(host, "test.narrow")).length === 1);
      await host.store.flush();
      const warned = await host.events.query({ type: "delivery.topics_denied" });
      expect(warned.events).toMatchObject([
        { level: "warn", pluginId: "test.narrow", payload: { topics: ["secrets.*"] } },
      ]);
      // Nothing else was due: once caught up, only the order was delivered.
      await until(async () =>
        (await host.store.delivery.subscriptions())[0]!.cursor >= Number(
          (await host.events.query({ type: "other.thing" })).cursor,
        )
      );
      expect(await delivered(host, "test.narrow")).toEqual([order.id]);
    },
    60_000,
  );

  it(
    "counts real failed runs with the example plugin, and never feeds it its own failures",
    async () => {
      const { home, host } = await setup();
      // The example's own manifest, signed with this test's key.
      await host.load(await signedFirstParty("failure-counter", home.key), "test:failure-counter");
      await host.load(await signedFirstParty("hello", home.key), "test:hello");
      // A broken twin on the same topic: its own failed deliveries must not come back to it.
      await host.load(
        await signedFirstParty("failure-counter", home.key, (m) => {
          m["id"] = "test.broken";
          m["permissions"] = { kv: { quotaBytes: 1 }, events: { subscribe: ["run.failed"] } };
        }),
        "test:broken",
      );
      const delivery = host.startDelivery(fast);
      await until(() => delivery.status().some((l) => l.held));
      const failed = await host.invoke({
        pluginId: "example.hello",
        capability: "greet",
        input: new Uint8Array(),
        trigger: "cli",
      });
      expect(failed.ok).toBe(false);
      await until(async () => (await delivered(host, "example.failure-counter")).length >= 1);
      // hello's failure is first in the log, so first to the counter.
      const [row] = await host.store.delivery.deliveries("example.failure-counter");
      const run = await host.runs.get(row!.runId);
      // The delivery run's parent is the run whose failure it reports.
      expect(run).toMatchObject({ trigger: "event", parentRunId: failed.runId });
      // The twin failed three times on hello's failure and was dead-lettered; its three failed
      // runs (run.failed events too) were never delivered to it, though the counter got them.
      await until(async () => (await host.store.delivery.deadLetters()).length === 1);
      await until(async () => (await delivered(host, "example.failure-counter")).length === 4);
      const twin = await host.store.delivery.deliveries("test.broken");
      expect(new Set(twin.map((r) => r.eventId)).size).toBe(1);
      // At or past the head read here: events written later (reports of the runs above, on a slow
      // machine) move the cursors further, so an exact match could wait forever.
      const head = await host.store.delivery.head();
      await until(async () =>
        (await host.store.delivery.subscriptions()).every((s) => s.cursor >= head)
      );
      expect((await host.store.delivery.deliveries("test.broken")).length).toBe(3);
      const count = await host.invoke({
        pluginId: "example.failure-counter",
        capability: "count",
        input: new Uint8Array(),
        trigger: "cli",
        output: "schema",
      });
      expect(count.ok && JSON.parse(new TextDecoder().decode(count.output))).toMatchObject({
        count: 4,
        lastRunId: twin[2]!.runId,
      });
    },
    60_000,
  );

  it(
    "delivers what a plugin publishes under plugin.<id>. to a subscriber of that namespace",
    async () => {
      const { home, host } = await setup();
      await host.load(
        await signedProbe(home.key, "test.pub", { events: { publish: ["orders.*"] } }),
        "test:probe",
      );
      await loadSubscriber(host, home.key, "test.sub", { topics: ["plugin.test.pub.**"] });
      const delivery = host.startDelivery(fast);
      await until(() => delivery.status().some((l) => l.held));
      const published = await host.invoke({
        pluginId: "test.pub",
        capability: "run",
        input: new TextEncoder().encode(JSON.stringify(ops(
          { fn: "event_publish", req: { topic: "orders.created", payload: { n: 7 } } },
        ))),
        trigger: "cli",
      });
      expect(published.ok).toBe(true);
      await until(async () => (await delivered(host, "test.sub")).length === 1);
      const [row] = await host.store.delivery.deliveries("test.sub");
      const event = (await host.events.query({ type: "plugin.test.pub.orders.created" })).events[0];
      expect(event).toMatchObject({
        id: row!.eventId,
        source: "plugin:test.pub",
        payload: { n: 7 },
      });
      const run = await host.runs.get(row!.runId);
      expect(run).toMatchObject({
        trigger: "event",
        parentRunId: published.runId,
        correlationId: event!.id,
      });
      // The subscriber got the event JSON as its input.
      expect(JSON.parse(Buffer.from(run!.input!, "base64").toString("utf8"))).toEqual({
        id: event!.id,
        type: "plugin.test.pub.orders.created",
        ts: event!.ts,
        source: "plugin:test.pub",
        pluginId: "test.pub",
        runId: published.runId,
        correlationId: null,
        payload: { n: 7 },
      });
    },
    120_000,
  );

  it(
    "takes over a subscriber whose holder stopped renewing its lease; the old holder lets go",
    async () => {
      const { home, host } = await setup();
      await loadSubscriber(host, home.key, "test.shared", { topics: ["orders.*"] });
      const other = await home.open();
      open[0]!.hosts.push(other);
      await loadSubscriber(other, home.key, "test.shared", { topics: ["orders.*"] });
      // A host whose clock is a minute behind: its leases are expired for everyone else, as if
      // it had died a minute ago.
      const stale = startDelivery({
        runtime: host.runtime,
        store: host.store,
        pollMs: 5,
        leaseMs: 1000,
        now: () => Date.now() - 60_000,
      });
      try {
        await until(() => stale.status().some((l) => l.held));
        const fresh = other.startDelivery(fast);
        await until(() => fresh.status().some((l) => l.held));
        // The stale host's next renewal finds the lease gone and stops delivering.
        await until(() => !stale.status()[0]!.held);
        const [sub] = await other.store.delivery.subscriptions();
        expect(sub!.holder).toBe(fresh.holder);
        const event = await publish(other, "orders.created");
        await until(async () => (await delivered(other, "test.shared")).length === 1);
        expect(await delivered(other, "test.shared")).toEqual([event.id]);
        expect(stale.status()[0]!.held).toBe(false);
      } finally {
        await stale.stop();
      }
    },
    60_000,
  );

  it("delivers a subscriber from one host at a time when hosts share the database", async () => {
    const { home, host } = await setup();
    await loadSubscriber(host, home.key, "test.shared", { topics: ["orders.*"] });
    const other = await home.open();
    open[0]!.hosts.push(other);
    await loadSubscriber(other, home.key, "test.shared", { topics: ["orders.*"] });
    const one = host.startDelivery(fast);
    await until(() => one.status().some((l) => l.held));
    const two = other.startDelivery(fast);
    // The second host sees the lane and cannot take it while the first holds it.
    await until(() => two.status().length === 1);
    await publish(host, "orders.created");
    await until(async () => (await delivered(host, "test.shared")).length === 1);
    expect(two.status()[0]!.held).toBe(false);
    // The first stops (releasing its lease): the second takes over from the durable cursor.
    await one.stop();
    await until(() => two.status()[0]!.held);
    const next = await publish(other, "orders.created");
    await until(async () => (await delivered(other, "test.shared")).length === 2);
    expect((await delivered(other, "test.shared"))[1]).toBe(next.id);
  }, 60_000);
});
