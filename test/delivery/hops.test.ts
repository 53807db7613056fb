/**
 * The hop limit of delivery chains (docs/delivery.md#hop-limit) with real
 * relay plugins: subscribers that feed each other stop after the limit, the
 * cut is reported once per chain (never delivered on), and a chain within the
 * limit is delivered whole.
 */
import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { Host } from "../../host/host.ts";
import type { RunningDelivery } from "../../host/delivery/mod.ts";
import { delivered, loadSubscriber, type TestHome, testHome, until } from "./helpers.ts";
import { signedProbe } from "../capabilities/probe.ts";
import { loadRelay } from "./relay.ts";

describe("delivery hop limit", () => {
  const open: { home: TestHome; host: Host }[] = [];
  afterEach(async () => {
    for (const { home, host } of open.splice(0)) {
      await host.close();
      rmSync(home.home, { recursive: true, force: true });
    }
  });
  async function setup() {
    const home = await testHome();
    const host = await home.open();
    open.push({ home, host });
    return { home, host };
  }
  /** Until every subscriber has looked at the whole log (what is due was delivered or cut). */
  async function settled(host: Host, delivery: RunningDelivery, subscribers: number) {
    await until(() =>
      delivery.status().filter((l) => l.held && !l.inFlight).length === subscribers
    );
    await host.store.flush();
    await until(async () => {
      const head = await host.store.delivery.head();
      const subs = await host.store.delivery.subscriptions();
      return subs.length === subscribers && subs.every((s) => s.cursor === head) &&
        delivery.status().every((l) => !l.inFlight);
    });
  }
  const cuts = async (host: Host) => {
    await host.store.flush();
    return (await host.events.query({ type: "delivery.hop_limit" })).events;
  };

  it("stops two subscribers that ping-pong after maxHops, reporting the cut once", async () => {
    const { home, host } = await setup();
    await loadRelay(host, home.key, "test.a", ["plugin.test.b.**"]);
    await loadRelay(host, home.key, "test.b", ["kick.*", "plugin.test.a.**"]);
    // A bystander on A's topic (its copy of the last event is cut too: still one report), and
    // one on delivery.* (the report names the last run, so it is past the limit as well).
    await loadSubscriber(host, home.key, "test.tap", { topics: ["plugin.test.a.**"] });
    await loadSubscriber(host, home.key, "test.watch", { topics: ["delivery.*"] });
    const delivery = host.startDelivery({ pollMs: 5, maxHops: 4 });
    await until(() => delivery.status().filter((l) => l.held).length === 4);
    const kick = await host.events.append({ type: "kick.off", source: "host", payload: {} });
    await until(async () => (await cuts(host)).length === 1);
    await settled(host, delivery, 4);

    // kick -> b (hop 1) -> a (2) -> b (3) -> a (4); a's 4th-hop event is logged, not delivered.
    const relayed = (await host.events.query({ type: "plugin.test.*" })).events
      .filter((e) => e.type.endsWith(".relayed"));
    expect(relayed.map((e) => e.type)).toEqual([
      "plugin.test.b.relayed",
      "plugin.test.a.relayed",
      "plugin.test.b.relayed",
      "plugin.test.a.relayed",
    ]);
    expect(await delivered(host, "test.b")).toEqual([kick.id, relayed[1]!.id]);
    expect(await delivered(host, "test.a")).toEqual([relayed[0]!.id, relayed[2]!.id]);
    expect(await delivered(host, "test.tap")).toEqual([relayed[1]!.id]);
    expect(await delivered(host, "test.watch")).toEqual([]);

    // Two subscribers (b and the tap) were due the last event: one report for the chain.
    expect(await cuts(host)).toHaveLength(1);
    const [cut] = await cuts(host);
    const last = relayed[3]!;
    expect(cut).toMatchObject({
      level: "warn",
      source: "host",
      runId: last.runId,
      correlationId: kick.id,
      payload: { chain: kick.id, hops: 4, maxHops: 4, eventId: last.id, publisher: "test.a" },
    });
    // The chain, run by run: each delivery run's parent is the run that published its event.
    const chain: string[] = [];
    for (let run = await host.runs.get(last.runId!); run;) {
      chain.unshift(`${run.pluginId}:${run.trigger}`);
      run = run.parentRunId ? await host.runs.get(run.parentRunId) : undefined;
    }
    expect(chain).toEqual(["test.b:event", "test.a:event", "test.b:event", "test.a:event"]);
  }, 120_000);

  it("cuts a three-plugin loop at the default 16 hops, once per chain", async () => {
    const { home, host } = await setup();
    await loadRelay(host, home.key, "test.a", ["kick.*", "plugin.test.c.**"]);
    await loadRelay(host, home.key, "test.b", ["plugin.test.a.**"]);
    await loadRelay(host, home.key, "test.c", ["plugin.test.b.**"]);
    const delivery = host.startDelivery({ pollMs: 5 });
    await until(() => delivery.status().filter((l) => l.held).length === 3);
    const first = await host.events.append({ type: "kick.off", source: "host", payload: {} });
    await until(async () => (await cuts(host)).length === 1);
    await settled(host, delivery, 3);
    const runs = async () =>
      (await Promise.all(["test.a", "test.b", "test.c"].map((id) => delivered(host, id))))
        .map((d) => d.length);
    // Hops 1..16 are a, b, c, a, ...: a ran 6 times, b and c 5 each; a's 16th-hop event is cut.
    expect(await runs()).toEqual([6, 5, 5]);
    expect((await cuts(host))[0]).toMatchObject({
      pluginId: "test.b",
      correlationId: first.id,
      payload: { chain: first.id, hops: 16, maxHops: 16, publisher: "test.a" },
    });

    // Another chain is a chain of its own: delivered to its limit, and reported on its own.
    const second = await host.events.append({ type: "kick.off", source: "host", payload: {} });
    await until(async () => (await cuts(host)).length === 2);
    await settled(host, delivery, 3);
    expect(await runs()).toEqual([12, 10, 10]);
    expect((await cuts(host))[1]).toMatchObject({
      correlationId: second.id,
      payload: { hops: 16 },
    });
  }, 120_000);

  it("counts the hops of a chain through a plugin-to-plugin call", async () => {
    const { home, host } = await setup();
    await host.load(
      await signedProbe(home.key, "test.mid", { events: { publish: ["relayed"] } }),
      "test:mid",
    );
    // a's delivery runs call test.mid, whose run (trigger invoke, parent a's run) publishes.
    await loadRelay(host, home.key, "test.a", ["kick.*", "plugin.test.b.**"], true);
    await loadRelay(host, home.key, "test.b", ["plugin.test.mid.**"]);
    const delivery = host.startDelivery({ pollMs: 5, maxHops: 4 });
    await until(() => delivery.status().filter((l) => l.held).length === 2);
    const kick = await host.events.append({ type: "kick.off", source: "host", payload: {} });
    await until(async () => (await cuts(host)).length === 1);
    await settled(host, delivery, 2);
    // kick -> a (1, via mid) -> b (2) -> a (3, via mid) -> b (4); b's 4th-hop event is cut.
    expect(await delivered(host, "test.a")).toHaveLength(2);
    expect(await delivered(host, "test.b")).toHaveLength(2);
    expect(await cuts(host)).toMatchObject([
      { pluginId: "test.a", correlationId: kick.id, payload: { hops: 4, publisher: "test.b" } },
    ]);
  }, 120_000);

  it("delivers a chain as long as maxHops whole, with no cut reported", async () => {
    const { home, host } = await setup();
    await loadRelay(host, home.key, "test.p1", ["kick.*"]);
    await loadRelay(host, home.key, "test.p2", ["plugin.test.p1.**"]);
    await loadRelay(host, home.key, "test.p3", ["plugin.test.p2.**"]);
    await loadSubscriber(host, home.key, "test.tap", { topics: ["plugin.test.p2.**"] });
    const delivery = host.startDelivery({ pollMs: 5, maxHops: 3 });
    await until(() => delivery.status().filter((l) => l.held).length === 4);
    await host.events.append({ type: "kick.off", source: "host", payload: {} });
    await until(async () =>
      (await host.events.query({ type: "plugin.test.p3.relayed" })).events.length === 1
    );
    await settled(host, delivery, 4);
    for (const id of ["test.p1", "test.p2", "test.p3", "test.tap"]) {
      expect(await delivered(host, id)).toHaveLength(1);
    }
    expect(await cuts(host)).toEqual([]);
  }, 120_000);

  it("refuses a maxHops that is not a whole number of at least 1", async () => {
    const { host } = await setup();
    expect(() => host.startDelivery({ maxHops: 0 })).toThrow(/maxHops/);
  });
});
