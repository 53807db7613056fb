/**
 * The event dispatcher (docs/delivery.md): delivers the event log to each
 * loaded plugin with an `onEvent` hook, each as a run through the one
 * `invoke` (trigger `event`, the hook's export called with the event JSON).
 *
 * Per subscriber there is one lane: a durable cursor (store.delivery), held
 * under a lease so hosts sharing the database deliver it from one place, and
 * at most one delivery in flight, which keeps its order. Lanes run side by
 * side: a slow subscriber lags (its lag is in /metrics) and never holds back
 * publishers or another subscriber. A failed run is retried with exponential
 * backoff; after the last attempt the event becomes a dead letter and the
 * lane moves on. An operator may queue a dead letter for redelivery.
 * @module
 */
import { hostname } from "node:os";
import process from "node:process";
import { HostError } from "../errors.ts";
import type { PluginInfo, PluginRuntime } from "../core/mod.ts";
import { type DeadLetter, type LogEvent, type Store, ulid } from "../store/mod.ts";
import { type Chain, Chains } from "./hops.ts";
import { byPriority, isDue, type Subscriber, subscriberOf } from "./subscription.ts";

/** Retry policy of failed deliveries. */
export interface RetryPolicy {
  /** Delay before the second attempt, in ms; doubles per attempt (default 1000). */
  baseMs: number;
  /** Longest delay between attempts, in ms (default 60000). */
  maxMs: number;
  /** Attempts before an event becomes a dead letter (default 5). */
  maxAttempts: number;
}

/** Options of `startDelivery`. */
export interface DeliveryOptions {
  runtime: PluginRuntime;
  store: Store;
  /** How often lanes look for new events, plugins and redeliveries, in ms (default 250). */
  pollMs?: number;
  /** How long a subscription stays leased without renewal, in ms (default 30000). */
  leaseMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Events read into a lane at once (default 100). */
  batch?: number;
  /** How long `stop` waits for deliveries in flight, in ms (default 10000). */
  graceMs?: number;
  /** This host's lease holder id (default `<hostname>:<pid>:<ulid>`). */
  holder?: string;
  /** The wall clock (ms since the epoch); TTLs and backoff read it. */
  now?: () => number;
  /**
   * Delivery runs one chain of events may take (default 16): an event written
   * by the chain's `maxHops`-th delivery run is logged but not delivered.
   */
  maxHops?: number;
}

/** Default of `DeliveryOptions.maxHops`. */
export const MAX_HOPS = 16;

/** One lane as this host sees it. */
export interface LaneStatus {
  pluginId: string;
  priority: number;
  held: boolean;
  cursor: number;
  /** Attempts made on the event at the head of the lane (0 when none failed). */
  attempts: number;
  inFlight: boolean;
}

/** A running dispatcher. */
export interface RunningDelivery {
  readonly holder: string;
  /** The lanes this host serves. */
  status(): LaneStatus[];
  /** Looks for work now instead of at the next poll (after a publish, say). */
  poke(): void;
  /** Stops taking work, waits for deliveries in flight (up to `graceMs`), releases the leases. */
  stop(): Promise<void>;
}

/** Starts delivering; stop it with `stop()` (createHost's `close` does). */
export function startDelivery(options: DeliveryOptions): RunningDelivery {
  return new Dispatcher(options);
}

interface Lane {
  sub: Subscriber;
  /** The PluginInfo the lane was built from: another one means the plugin was reloaded. */
  info: PluginInfo;
  held: boolean;
  cursor: number;
  /** Due events read ahead, oldest first. */
  buffer: LogEvent[];
  /** Attempts made on buffer[0]; undefined until read from the store. */
  attempts: number | undefined;
  retryAt: number;
  /** When this host last asked for the lane's lease (0: never). */
  claimedAt: number;
  /** Consecutive refusals of the plugin (not loaded as asked, disabled, suspended). */
  refusals: number;
  /** The last refusal reported, so a paused lane reports it once. */
  reported: string | undefined;
  running: Promise<void> | undefined;
  /** This lane's recent delivery runs, oldest first: what they write is not delivered back. */
  own: Set<string>;
}

/** How many recent delivery runs a lane remembers (their events are read soon after they end). */
const OWN_RUNS = 1_000;

type Attempt =
  | { kind: "ok"; runId: string }
  | { kind: "failed"; runId: string; error: { class: string; message: string } }
  | { kind: "refused"; error: HostError };

const encoder = new TextEncoder();

class Dispatcher implements RunningDelivery {
  readonly holder: string;
  readonly #runtime: PluginRuntime;
  readonly #store: Store;
  readonly #pollMs: number;
  readonly #leaseMs: number;
  readonly #retry: RetryPolicy;
  readonly #batch: number;
  readonly #graceMs: number;
  readonly #now: () => number;
  readonly #maxHops: number;
  readonly #chains: Chains;
  readonly #lanes = new Map<string, Lane>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ticking: Promise<void> | undefined;
  #again = false;
  #renewedAt = 0;
  #stopping = false;
  #stopped: Promise<void> | undefined;

  constructor(options: DeliveryOptions) {
    this.#runtime = options.runtime;
    this.#store = options.store;
    this.#pollMs = Math.max(1, options.pollMs ?? 250);
    this.#leaseMs = Math.max(1000, options.leaseMs ?? 30_000);
    this.#retry = {
      baseMs: Math.max(1, options.retry?.baseMs ?? 1000),
      maxMs: Math.max(1, options.retry?.maxMs ?? 60_000),
      maxAttempts: Math.max(1, options.retry?.maxAttempts ?? 5),
    };
    this.#batch = Math.max(1, options.batch ?? 100);
    this.#graceMs = Math.max(0, options.graceMs ?? 10_000);
    this.#now = options.now ?? Date.now;
    if (
      options.maxHops !== undefined && !(Number.isInteger(options.maxHops) && options.maxHops >= 1)
    ) {
      throw new HostError(
        "invalid_input",
        `Delivery option maxHops must be a whole number of at least 1, got ${options.maxHops}`,
      );
    }
    this.#maxHops = options.maxHops ?? MAX_HOPS;
    this.#chains = new Chains(options.store, this.#maxHops);
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${ulid()}`;
    this.poke();
  }

  status(): LaneStatus[] {
    return byPriority([...this.#lanes.values()].map((l) => ({
      pluginId: l.sub.pluginId,
      priority: l.sub.priority,
      held: l.held,
      cursor: l.cursor,
      attempts: l.attempts ?? 0,
      inFlight: l.running !== undefined,
    })));
  }

  poke(): void {
    if (this.#stopping) return;
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#ticking = this.#tick()
      .catch((error: unknown) =>
        this.#report("delivery.poll_failed", "error", null, { error: messageOf(error) })
      )
      .finally(() => {
        this.#ticking = undefined;
        if (this.#stopping) return;
        if (this.#again) {
          this.#again = false;
          this.poke();
        } else this.#timer = setTimeout(() => this.poke(), this.#pollMs);
      });
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping = true;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      await this.#ticking;
      const running = [...this.#lanes.values()].flatMap((l) => l.running ? [l.running] : []);
      let timer: ReturnType<typeof setTimeout> | undefined;
      // A delivery still going after the grace period is abandoned: its cursor has not moved,
      // so whichever host holds the lane next delivers that event again (at least once).
      await Promise.race([
        Promise.allSettled(running),
        new Promise((resolve) => timer = setTimeout(resolve, this.#graceMs)),
      ]);
      clearTimeout(timer);
      const held = [...this.#lanes.values()].filter((l) => l.held).map((l) => l.sub.pluginId);
      await this.#store.delivery.release(held, this.holder).catch(() => {});
    })();
    return this.#stopped;
  }

  /** One poll: follow the loaded plugins, take and renew leases, start idle lanes. */
  async #tick(): Promise<void> {
    this.#syncLanes();
    const now = this.#now();
    const lanes = [...this.#lanes.values()];
    // A lane another host holds is asked for again once a second, not at every poll: each ask
    // is a write transaction.
    const unheld = lanes.filter((l) => !l.held && now - l.claimedAt >= 1000);
    for (const lane of unheld) lane.claimedAt = now;
    if (unheld.length > 0) {
      const ids = unheld.map((l) => l.sub.pluginId);
      for (const s of await this.#store.delivery.claim(ids, this.holder, now, this.#leaseMs)) {
        const lane = this.#lanes.get(s.pluginId);
        if (!lane || lane.running) continue;
        lane.held = true;
        lane.cursor = s.cursor;
        lane.buffer = [];
        lane.attempts = undefined;
      }
    }
    if (now - this.#renewedAt > this.#leaseMs / 3) {
      const held = lanes.filter((l) => l.held).map((l) => l.sub.pluginId);
      const kept = new Set(await this.#store.delivery.renew(held, this.holder, now, this.#leaseMs));
      for (const lane of lanes) if (lane.held && !kept.has(lane.sub.pluginId)) lane.held = false;
      this.#renewedAt = now;
    }
    // Lanes started together take turns up to their first run's start, higher priority first:
    // each reads the log after the one before it, so an event both see goes to the higher one
    // first. The turn passes on as soon as a run starts (or the lane has nothing to do), so a
    // slow subscriber never holds the next one up beyond that.
    let previous: Promise<void> = Promise.resolve();
    const order = byPriority(lanes.map((l) => ({ ...pick(l.sub), lane: l })));
    for (const { lane: own } of order) {
      if (!own.held || own.running || this.#now() < own.retryAt) continue;
      let release = () => {};
      const turn = new Promise<void>((resolve) => release = resolve);
      const before = previous;
      previous = turn;
      own.running = before.then(() => this.#pump(own, release))
        .catch((error: unknown) => {
          own.retryAt = this.#now() + this.#backoff(1);
          this.#report("delivery.poll_failed", "error", own.sub.pluginId, {
            error: messageOf(error),
          });
        })
        .finally(() => {
          release();
          own.running = undefined;
        });
    }
  }

  /** Lanes for the loaded plugins with an onEvent hook; dropped for plugins gone. */
  #syncLanes(): void {
    const seen = new Set<string>();
    for (const info of this.#runtime.list()) {
      const sub = subscriberOf(info);
      if (!sub) continue;
      const lane = this.#lanes.get(sub.pluginId);
      if (lane && lane.info === info) {
        seen.add(sub.pluginId);
        continue;
      }
      seen.add(sub.pluginId);
      if (sub.denied.length > 0) {
        this.#report("delivery.topics_denied", "warn", sub.pluginId, {
          topics: sub.denied,
          granted: sub.granted,
          message:
            `hooks.onEvent topics ${
              sub.denied.join(", ")
            } are not (fully) granted by permissions.events.subscribe; ` +
            `events there that no grant matches are never delivered`,
        });
      }
      if (lane) {
        // Reloaded (maybe with other topics): read again from the durable cursor.
        lane.sub = sub;
        lane.info = info;
        lane.buffer = [];
        lane.attempts = undefined;
        lane.reported = undefined;
        lane.refusals = 0;
        lane.retryAt = 0;
        continue;
      }
      this.#lanes.set(sub.pluginId, {
        sub,
        info,
        held: false,
        cursor: 0,
        buffer: [],
        own: new Set(),
        attempts: undefined,
        retryAt: 0,
        claimedAt: 0,
        refusals: 0,
        reported: undefined,
        running: undefined,
      });
    }
    for (const [id, lane] of this.#lanes) {
      if (seen.has(id) || lane.running) continue;
      this.#lanes.delete(id);
      if (lane.held) void this.#store.delivery.release([id], this.holder).catch(() => {});
    }
  }

  /** Delivers a lane's due events one at a time until it is caught up, waits, or stops. */
  async #pump(lane: Lane, started: () => void): Promise<void> {
    if (!await this.#redeliver(lane, started)) return;
    const delivery = this.#store.delivery;
    const id = lane.sub.pluginId;
    while (!this.#stopping && lane.held) {
      if (lane.buffer.length === 0) {
        const page = await delivery.read(lane.cursor, lane.sub.prefixes, this.#batch);
        lane.buffer = page.events.filter((e) => this.#due(lane, e));
        lane.attempts = undefined;
        if (lane.buffer.length === 0) {
          if (page.scanned <= lane.cursor) return; // caught up
          if (!await delivery.skip(id, this.holder, page.scanned, 0, this.#now())) {
            lane.held = false;
            return;
          }
          lane.cursor = page.scanned;
          continue;
        }
      }
      const event = lane.buffer[0]!;
      const ttl = lane.sub.ttlMs;
      if (ttl !== undefined && this.#now() - event.ts > ttl) {
        if (!await delivery.skip(id, this.holder, event.cursor, 1, this.#now())) {
          lane.held = false;
          return;
        }
        this.#advance(lane, event);
        continue;
      }
      const chain = await this.#chains.of(event);
      if (this.#chains.exceeded(chain)) {
        // Logged, not delivered: the chain ends here (a loop between subscribers, say).
        if (!await delivery.skip(id, this.holder, event.cursor, 0, this.#now())) {
          lane.held = false;
          return;
        }
        this.#advance(lane, event);
        if (this.#chains.firstCut(chain)) this.#reportCut(id, event, chain);
        continue;
      }
      lane.attempts ??= await delivery.attempts(id, event.id);
      const attempt = lane.attempts + 1;
      const result = await this.#deliver(lane, event, chain, started);
      if (result.kind === "refused") {
        this.#refused(lane, result.error);
        return;
      }
      lane.refusals = 0;
      lane.reported = undefined;
      const outcome = {
        pluginId: id,
        holder: this.holder,
        event,
        runId: result.runId,
        attempt,
        now: this.#now(),
      };
      if (result.kind === "ok") {
        if (!await delivery.recordDelivery({ ...outcome, ok: true })) {
          lane.held = false;
          return;
        }
        this.#advance(lane, event);
        continue;
      }
      lane.attempts = attempt;
      if (attempt < this.#retry.maxAttempts) {
        if (!await delivery.recordDelivery({ ...outcome, ok: false })) lane.held = false;
        // Order holds: nothing after this event is delivered until it is, or is dead-lettered.
        lane.retryAt = this.#now() + this.#backoff(attempt);
        return;
      }
      const letter = await delivery.deadLetter({
        ...outcome,
        ok: false,
        topic: event.type,
        error: result.error,
      });
      if (letter === undefined) {
        lane.held = false;
        return;
      }
      this.#report("delivery.dead_lettered", "warn", id, {
        deadLetterId: letter,
        eventId: event.id,
        topic: event.type,
        attempts: attempt,
        runId: result.runId,
        error: result.error,
      }, event.correlationId ?? event.id);
      this.#advance(lane, event);
    }
  }

  /** Dead letters an operator queued for this lane: one attempt each. False: stop the pump. */
  async #redeliver(lane: Lane, started: () => void): Promise<boolean> {
    const delivery = this.#store.delivery;
    const id = lane.sub.pluginId;
    let letters: DeadLetter[];
    try {
      letters = await delivery.pendingRedeliveries([id]);
    } catch {
      return true; // read again at the next poll; the log goes on meanwhile
    }
    for (const letter of letters) {
      if (this.#stopping) return false;
      const event = await delivery.event(letter.eventCursor);
      if (event === undefined) continue;
      // An operator's redelivery is not held to the hop limit; what its run writes is one hop
      // further, so a loop it restarts is cut again.
      const result = await this.#deliver(lane, event, await this.#chains.of(event), started);
      if (result.kind === "refused") {
        this.#refused(lane, result.error);
        return false;
      }
      const ok = result.kind === "ok";
      await delivery.finishRedelivery(letter, {
        pluginId: id,
        holder: this.holder,
        event,
        runId: result.runId,
        attempt: letter.attempts + 1,
        ok,
        now: this.#now(),
        error: ok ? undefined : result.error,
      });
      this.#report(
        ok ? "delivery.redelivered" : "delivery.redelivery_failed",
        ok ? "info" : "warn",
        id,
        {
          deadLetterId: letter.id,
          eventId: event.id,
          topic: event.type,
          runId: result.runId,
          ...(ok ? {} : { error: result.error }),
        },
        event.correlationId ?? event.id,
      );
    }
    return true;
  }

  /** One delivery run through the host's one invoke. */
  async #deliver(
    lane: Lane,
    event: LogEvent,
    chain: Chain,
    started: () => void,
  ): Promise<Attempt> {
    const runId = ulid();
    this.#chains.started(runId, chain);
    lane.own.add(runId);
    if (lane.own.size > OWN_RUNS) lane.own.delete(lane.own.values().next().value!);
    try {
      // invoke records the run and enters the plugin's call before it first waits: once it
      // returns its promise, the run has started and the next lane may take its turn.
      const running = this.#runtime.invoke({
        pluginId: lane.sub.pluginId,
        // The hook path: the export named by hooks.onEvent, recorded as capability `hook:onEvent`
        // and counted by the plugin's circuit breaker.
        capability: "hook:onEvent",
        hook: "onEvent",
        input: encoder.encode(eventJson(event)),
        trigger: "event",
        runId,
        // The run that published the event caused this one; the event's correlation id (or,
        // without one, the event's own id) ties every delivery of it together.
        parentRunId: event.runId ?? undefined,
        correlationId: event.correlationId ?? event.id,
      });
      started();
      const result = await running;
      return result.ok ? { kind: "ok", runId } : {
        kind: "failed",
        runId,
        error: { class: result.error.class, message: result.error.message },
      };
    } catch (error) {
      // The request never became a run: the plugin is not there to take it (unloaded, disabled,
      // suspended, or its hook names no export). The lane waits; attempts are not spent.
      if (error instanceof HostError) return { kind: "refused", error };
      throw error;
    }
  }

  #refused(lane: Lane, error: HostError): void {
    lane.refusals++;
    lane.retryAt = this.#now() + this.#backoff(lane.refusals);
    const key = `${error.code}:${error.message}`;
    if (lane.reported === key) return;
    lane.reported = key;
    this.#report("delivery.paused", "warn", lane.sub.pluginId, {
      error: { class: error.code, message: error.message },
      message: `deliveries to ${lane.sub.pluginId} wait until it takes calls again`,
    });
  }

  /**
   * Says once per chain that it was cut. The event names the run that wrote the
   * last event, so it is itself past the limit: a subscriber of `delivery.*`
   * cannot start the loop again from it.
   */
  #reportCut(subscriber: string, event: LogEvent, chain: Chain): void {
    this.#report(
      "delivery.hop_limit",
      "warn",
      subscriber,
      {
        chain: chain.root,
        hops: chain.hops,
        maxHops: this.#maxHops,
        eventId: event.id,
        topic: event.type,
        publisher: event.pluginId,
        message:
          `a chain of ${chain.hops} delivery runs reached the host's limit of ${this.#maxHops}: ` +
          `its events are logged but no longer delivered (a loop between subscribers?)`,
      },
      chain.root,
      event.runId,
    );
  }

  #advance(lane: Lane, event: LogEvent): void {
    lane.buffer.shift();
    lane.cursor = event.cursor;
    lane.attempts = 0;
  }

  /**
   * Whether `event` is due to the lane's subscriber. A subscriber never gets
   * the `run.*` events of its own deliveries, nor what its recent delivery
   * runs wrote: a handler that fails on `run.failed`, or publishes on a topic
   * it subscribes to, would otherwise feed itself forever.
   */
  #due(lane: Lane, event: LogEvent): boolean {
    const sub = lane.sub;
    if (!isDue(sub, event.type)) return false;
    // Nor anything its own delivery runs wrote (publishes, logs, progress): a handler that
    // publishes, logs or reports on a topic it subscribes to would feed itself forever.
    if (event.runId !== null && lane.own.has(event.runId)) return false;
    if (event.pluginId === sub.pluginId && event.type.startsWith("run.")) {
      try {
        const payload = JSON.parse(event.payload) as { trigger?: unknown };
        if (payload?.trigger === "event") return false;
      } catch {
        return true;
      }
    }
    return true;
  }

  #backoff(attempt: number): number {
    return Math.min(this.#retry.maxMs, this.#retry.baseMs * 2 ** Math.max(0, attempt - 1));
  }

  #report(
    type: string,
    level: "info" | "warn" | "error",
    pluginId: string | null,
    payload: Record<string, unknown>,
    correlationId?: string,
    runId?: string | null,
  ): void {
    void this.#store.events.append({
      type,
      level,
      source: "host",
      pluginId,
      ...(correlationId ? { correlationId } : {}),
      ...(runId ? { runId } : {}),
      payload,
    }).catch(() => {});
  }
}

/** What a subscriber's export receives: the event, as the log holds it. */
export function eventJson(e: LogEvent): string {
  const q = JSON.stringify;
  return `{"id":${q(e.id)},"type":${q(e.type)},"ts":${q(new Date(e.ts).toISOString())},"source":${
    q(e.source)
  },"pluginId":${q(e.pluginId)},"runId":${q(e.runId)},"correlationId":${
    q(e.correlationId)
  },"payload":${e.payload}}`;
}

function pick(sub: Subscriber): { pluginId: string; priority: number } {
  return { pluginId: sub.pluginId, priority: sub.priority };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
