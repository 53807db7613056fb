/**
 * The acceptance test of event delivery (issue 16, docs/delivery.md): 1,000
 * events to a slow and a fast subscriber, the host closed and opened again on
 * the same data directory midway. Every event reaches each subscriber at
 * least once and in order, and the fast one is never held back by the slow
 * one. "Slow" is a gate the test holds (deliveries allowed, not time), so the
 * assertions are on delivery progress, never on how long anything took.
 */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import type { Host } from "../../host/host.ts";
import { delivered, gatedProvider, loadSubscriber, testHome, until } from "./helpers.ts";

const TOPIC = "plugin.test.publisher.tick";
const FAST = "test.fast";
const SLOW = "test.slow";
const TOTAL = 1000;
const HALF = TOTAL / 2;

describe("event delivery across a restart", () => {
  let cleanup = () => {};
  afterAll(() => cleanup());

  it("delivers 1,000 events to a slow and a fast subscriber, in order, at least once", async () => {
    const home = await testHome();
    cleanup = () => rmSync(home.home, { recursive: true, force: true });
    const published: string[] = [];
    const publish = async (host: Host, from: number, to: number) => {
      const writes = [];
      for (let seq = from; seq < to; seq++) {
        writes.push(host.events.append({
          type: TOPIC,
          source: "plugin:test.publisher",
          pluginId: "test.publisher",
          payload: { seq },
        }));
      }
      // Publishing never waits for a subscriber: every append is durable before any
      // gated delivery is let through.
      for (const event of await Promise.all(writes)) published.push(event.id);
    };
    const open = async () => {
      const gate = gatedProvider(SLOW);
      const host = await home.open({ hostFunctions: gate.provider });
      await loadSubscriber(host, home.key, FAST, { topics: ["plugin.test.publisher.*"] });
      await loadSubscriber(host, home.key, SLOW, { topics: [TOPIC] });
      const delivery = host.startDelivery({ pollMs: 10 });
      await until(() => delivery.status().filter((l) => l.held).length === 2);
      return { host, gate, delivery };
    };

    // First host: the first half. The slow subscriber is let through 200 deliveries only.
    const first = await open();
    await publish(first.host, 0, HALF);
    await until(async () => (await delivered(first.host, FAST)).length >= HALF);
    expect(await delivered(first.host, SLOW)).toEqual([]); // still held at its first event
    first.gate.allow(200);
    await until(async () => (await delivered(first.host, SLOW)).length >= 200);
    const slowBefore = (await delivered(first.host, SLOW)).length;
    expect(slowBefore).toBe(200);
    // Close with the slow subscriber 300 events behind (and its 201st delivery waiting at the
    // gate: let it go so the host can stop; whether it is recorded does not matter).
    first.gate.open();
    await first.host.close();

    // Second host on the same data directory: the second half, the slow one held again.
    const second = await open();
    await publish(second.host, HALF, TOTAL);
    await until(async () => new Set(await delivered(second.host, FAST)).size >= TOTAL);
    const slowHeld = await delivered(second.host, SLOW);
    expect(slowHeld.length).toBeLessThan(TOTAL); // the fast one finished while the slow one lagged
    expect(new Set(slowHeld).size).toBeLessThanOrEqual(201);
    second.gate.open();
    await until(async () => new Set(await delivered(second.host, SLOW)).size >= TOTAL);

    const seqOf = new Map(published.map((id, seq) => [id, seq]));
    for (const pluginId of [FAST, SLOW]) {
      const seqs = (await delivered(second.host, pluginId)).map((id) => seqOf.get(id)!);
      expect(seqs.every((s) => s !== undefined)).toBe(true);
      // In order: never backwards (a repeat of the event last delivered is the "at least once").
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThanOrEqual(seqs[i - 1]!);
      // Every event, the first time in publish order.
      expect([...new Set(seqs)]).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
      // The plugin itself counted every delivery run that ended ok (in its KV).
      const result = await second.host.invoke({
        pluginId,
        capability: "count",
        input: new Uint8Array(),
        trigger: "cli",
      });
      expect(result.ok).toBe(true);
      if (result.ok) {
        const out = JSON.parse(new TextDecoder().decode(result.output));
        expect(out.count).toBe(seqs.length);
        expect(out.lastEventId).toBe(published[TOTAL - 1]);
      }
    }
    // Each delivery is a run: trigger event, correlated with the event it carried.
    const rows = await second.host.store.delivery.deliveries(FAST, 1);
    const run = await second.host.runs.get(rows[0]!.runId);
    expect(run).toMatchObject({
      pluginId: FAST,
      trigger: "event",
      export: "on_event",
      correlationId: rows[0]!.eventId,
      status: "ok",
    });
    await second.host.close();
  }, 300_000);
});
