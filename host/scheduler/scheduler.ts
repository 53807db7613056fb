/**
 * The scheduler: keeps a croner timer per active schedule whose plugin this
 * host has loaded, and turns each occurrence into one capability call
 * (trigger `schedule`) on exactly one of the hosts sharing the database.
 *
 * Per occurrence: claim its lease (batched, one write transaction), write
 * `schedule.triggered`, call `runtime.invoke` with correlation id
 * `<schedule id>@<occurrence ISO time>`, renew the lease while the run goes
 * on, mark it done. An occurrence that falls while the schedule's previous
 * run is going (on any host) is `schedule.skipped`. A poll (default every
 * 2 s) picks up added, changed, paused and removed schedules, keeps manifest
 * schedules in step with the loaded plugin versions, and takes over leases
 * whose holder stopped renewing them.
 * @module
 */
import { hostname } from "node:os";
import process from "node:process";
import { HostError } from "../errors.ts";
import type { PluginRuntime } from "../core/mod.ts";
import { scheduledHook } from "../lifecycle/mod.ts";
import {
  type ClaimResult,
  LeasesRepository,
  type Schedule,
  SchedulesRepository,
  type Store,
  ulid,
} from "../store/mod.ts";
import { LeaseBatcher } from "./claims.ts";
import { iso, messageOf, type ScheduleEmitter, scheduleEmitter } from "./events.ts";
import type { ArmedJob } from "./job.ts";
import { type SchedulerClock, systemClock } from "./clock.ts";
import { KeyedLimiter } from "./limiter.ts";
import { occurrencesBetween } from "./timing.ts";
import { ManifestSync } from "./sync.ts";

/** Options of `startScheduler`. */
export interface SchedulerOptions {
  runtime: PluginRuntime;
  store: Store;
  /** How often the schedules table is read again, in ms (default 2000). */
  pollMs?: number;
  /** How long a claimed occurrence stays leased without renewal, in ms (default 30000). */
  leaseMs?: number;
  /** Occurrences this recent at start are not counted missed (default 5000 ms). */
  missedGraceMs?: number;
  /** This host's lease holder id (default `<hostname>:<pid>:<ulid>`). */
  holder?: string;
  /** Keep manifest schedules in step with the loaded plugins (default true). */
  syncManifests?: boolean;
  /**
   * Scheduled calls in flight per plugin (default 8); more wait in the
   * scheduler, so a burst never overflows the plugin's pool with `busy`.
   */
  callsPerPlugin?: number;
  /** Called for each occurrence this host runs, when its call ends. */
  onRun?: (run: ScheduledRun) => void;
  /**
   * The time and the timers (default `systemClock`: the wall clock and croner).
   * A `ManualClock` moves only when told to: tests drive occurrences with it.
   */
  clock?: SchedulerClock;
}

/** One occurrence this host ran. */
export interface ScheduledRun {
  scheduleId: string;
  name: string;
  /** Planned time, ms since the epoch. */
  occurrence: number;
  /** Trigger lateness: ms from the planned time to the occurrence being claimed and `schedule.triggered` written. */
  lateMs: number;
  /** Ms from the planned time to the call being issued (after waiting for a per-plugin slot). */
  callLateMs: number;
  /** The run id, or null when the call never started (plugin gone or disabled). */
  runId: string | null;
  ok: boolean;
}

/** A started scheduler. */
export interface RunningScheduler {
  /** This host's lease holder id. */
  readonly holder: string;
  /** Reads the schedules table now (instead of at the next poll). */
  poll(): Promise<void>;
  /** Names of the schedules armed on this host. */
  armed(): string[];
  /** Stops the timers and waits for runs in progress to end and be recorded. */
  stop(): Promise<void>;
}

interface Entry {
  schedule: Schedule;
  job: ArmedJob;
}

type Reason = "timer" | "takeover" | "catch-up";

/** How long lease rows of finished occurrences are kept. */
const LEASE_RETENTION_MS = 10 * 60_000;

/**
 * Starts the scheduler on an open host: reads the schedules (after syncing
 * manifest schedules), applies each schedule's missed-occurrence policy, arms
 * the timers, and polls for changes until `stop()`.
 *
 * @example
 * ```ts
 * const host = await openHost({ paths });
 * const scheduler = await startScheduler({ runtime: host.runtime, store: host.store });
 * // ... serve ...
 * await scheduler.stop();
 * await host.close();
 * ```
 */
export async function startScheduler(options: SchedulerOptions): Promise<RunningScheduler> {
  const scheduler = new Scheduler(options);
  await scheduler.poll();
  scheduler.startPolling();
  return scheduler;
}

class Scheduler implements RunningScheduler {
  readonly holder: string;
  readonly #runtime: PluginRuntime;
  readonly #schedules: SchedulesRepository;
  readonly #leases: LeasesRepository;
  readonly #batcher: LeaseBatcher;
  readonly #pollMs: number;
  readonly #leaseMs: number;
  readonly #graceMs: number;
  readonly #sync: boolean;
  readonly #onRun: ((run: ScheduledRun) => void) | undefined;
  readonly #clock: SchedulerClock;
  readonly #calls: KeyedLimiter;
  readonly #entries = new Map<string, Entry>();
  /** Schedule id -> the occurrence this host is running for it. */
  readonly #busy = new Map<string, number>();
  readonly #inflight = new Set<Promise<void>>();
  readonly #emit: ScheduleEmitter;
  readonly #manifests: ManifestSync;
  #timer: ReturnType<typeof setInterval> | undefined;
  #polling: Promise<void> | undefined;
  #polls = 0;
  #signature = "";
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#runtime = options.runtime;
    this.#schedules = options.store.schedules;
    this.#leases = options.store.leases;
    this.#pollMs = options.pollMs ?? 2000;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#graceMs = options.missedGraceMs ?? 5000;
    this.#sync = options.syncManifests ?? true;
    this.#onRun = options.onRun;
    this.#clock = options.clock ?? systemClock;
    this.#calls = new KeyedLimiter(options.callsPerPlugin ?? 8);
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${ulid()}`;
    this.#emit = scheduleEmitter(options.store);
    this.#manifests = new ManifestSync(
      options.runtime,
      options.store,
      this.#schedules,
      this.#emit,
    );
    this.#batcher = new LeaseBatcher(this.#leases, this.holder, this.#leaseMs, this.#clock);
  }

  startPolling(): void {
    this.#timer = setInterval(() => {
      this.poll().catch((error) =>
        this.#emit("schedule.poll_failed", "error", null, {
          error: messageOf(error),
        })
      );
    }, this.#pollMs);
  }

  armed(): string[] {
    return [...this.#entries.values()].map((e) => e.schedule.name).sort();
  }

  /** One poll at a time; a call during a poll waits for it. */
  poll(): Promise<void> {
    this.#polling ??= this.#poll().finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#polling?.catch(() => {});
    for (const entry of this.#entries.values()) entry.job.stop();
    this.#entries.clear();
    await Promise.allSettled([...this.#inflight]);
  }

  async #poll(): Promise<void> {
    if (this.#stopped) return;
    if (this.#sync) await this.#manifests.run();
    await this.#rearm();
    await this.#takeOver();
    // Rows of past occurrences only matter while a late host might still fire them (seconds);
    // each schedule's latest row stays for missed counting. Per-second schedules write 86,400 a day.
    if (++this.#polls % 30 === 0) await this.#leases.prune(this.#clock.now() - LEASE_RETENTION_MS);
  }

  /** Arms, re-arms and disarms timers to match the table; skipped when neither it nor the loaded plugins changed. */
  async #rearm(): Promise<void> {
    // Reading 1,000 rows costs tens of ms on the event loop; a one-row summary tells if anything changed.
    const signature = `${await this.#schedules.signature()}|${
      this.#runtime.list().map((p) => p.id).join(",")
    }`;
    if (signature === this.#signature) return;
    const rows = await this.#schedules.list();
    const seen = new Set<string>();
    const armedNow: Entry[] = [];
    for (const schedule of rows) {
      seen.add(schedule.id);
      const entry = this.#entries.get(schedule.id);
      const wanted = schedule.state === "active" &&
        this.#runtime.get(schedule.pluginId) !== undefined;
      if (entry && (!wanted || entry.schedule.updatedAt !== schedule.updatedAt)) {
        this.#disarm(entry);
      }
      if (wanted && !this.#entries.has(schedule.id) && !this.#stopped) {
        armedNow.push(this.#arm(schedule));
      }
    }
    for (const entry of [...this.#entries.values()]) {
      if (!seen.has(entry.schedule.id)) this.#disarm(entry);
    }
    if (armedNow.length > 0) {
      const latest = await this.#leases.latest();
      for (const entry of armedNow) await this.#applyMissed(entry, latest.get(entry.schedule.id));
    }
    this.#signature = signature;
  }

  #arm(schedule: Schedule): Entry {
    const entry: Entry = { schedule, job: { stop() {} } };
    entry.job = this.#clock.arm(schedule, {
      fire: (planned) => this.#fire(entry, planned, "timer"),
      blocked: (planned) => void this.#skipHere(entry, planned),
    });
    this.#entries.set(schedule.id, entry);
    return entry;
  }

  #disarm(entry: Entry): void {
    entry.job.stop();
    this.#entries.delete(entry.schedule.id);
  }

  /** One occurrence from a timer or a takeover: claim it, then run it here if this host got it. */
  #fire(entry: Entry, planned: number, reason: Reason): Promise<void> {
    if (this.#stopped || this.#entries.get(entry.schedule.id) !== entry) return Promise.resolve();
    if (this.#busy.has(entry.schedule.id)) return this.#skipHere(entry, planned);
    this.#busy.set(entry.schedule.id, planned);
    return this.#track(async () => {
      try {
        const runId = ulid();
        const key = { scheduleId: entry.schedule.id, occurrence: planned, runId };
        // Takeovers are rare and need the old holder's row: one claim each, outside the batch.
        const claim = reason === "takeover"
          ? (await this.#leases.claim([key], this.holder, this.#clock.now(), this.#leaseMs))[0]!
          : await this.#batcher.claim(key);
        if (claim.kind === "skipped") {
          this.#emit("schedule.skipped", "warn", entry.schedule, {
            occurrence: iso(planned),
            reason: "overlap",
            runningOccurrence: iso(claim.runningOccurrence),
            runningRunId: claim.runId,
          });
        } else if (claim.kind === "claimed") {
          await this.#run(entry.schedule, planned, runId, reason, claim);
        }
      } catch (error) {
        this.#emit("schedule.failed", "error", entry.schedule, {
          occurrence: iso(planned),
          error: messageOf(error),
        });
      } finally {
        this.#busy.delete(entry.schedule.id);
      }
    });
  }

  /** An occurrence that fell while this host runs the schedule: recorded once, by whoever writes its row. */
  async #skipHere(entry: Entry, planned: number): Promise<void> {
    const running = this.#busy.get(entry.schedule.id);
    const key = { scheduleId: entry.schedule.id, occurrence: planned };
    try {
      if (await this.#batcher.skip(key)) {
        this.#emit("schedule.skipped", "warn", entry.schedule, {
          occurrence: iso(planned),
          reason: "overlap",
          runningOccurrence: running === undefined ? null : iso(running),
        });
      }
    } catch (error) {
      this.#emit("schedule.failed", "error", entry.schedule, {
        occurrence: iso(planned),
        error: messageOf(error),
      });
    }
  }

  /** Runs a claimed occurrence: event, call, lease renewal, lease done. */
  async #run(
    schedule: Schedule,
    planned: number,
    runId: string,
    reason: Reason,
    claim: Extract<ClaimResult, { kind: "claimed" }>,
  ): Promise<void> {
    const key = { scheduleId: schedule.id, occurrence: planned };
    const started = this.#clock.now();
    const lateMs = started - planned;
    const correlationId = `${schedule.id}@${iso(planned)}`;
    this.#emit("schedule.triggered", "info", schedule, {
      occurrence: iso(planned),
      lateMs,
      reason,
      attempt: claim.attempts,
      previousHolder: claim.previousHolder,
      holder: this.holder,
    }, { runId, correlationId });
    const renew = setInterval(() => {
      this.#leases.renew([key], this.holder, this.#clock.now(), this.#leaseMs).catch(() => {});
    }, Math.max(250, Math.floor(this.#leaseMs / 3)));
    let ran: string | null = runId;
    let ok = false;
    let callLateMs = lateMs;
    try {
      // Let every occurrence claimed in this batch be triggered before any call starts: a
      // call in main mode holds the thread while it runs.
      await new Promise((resolve) => setTimeout(resolve, 0));
      const result = await this.#calls.run(schedule.pluginId, () => {
        callLateMs = this.#clock.now() - planned;
        // A schedule may target the onSchedule hook (`hook:onSchedule`): a hook run.
        const hook = scheduledHook(schedule.capability);
        return this.#runtime.invoke({
          pluginId: schedule.pluginId,
          capability: schedule.capability,
          input: new TextEncoder().encode(JSON.stringify(schedule.input)),
          trigger: hook === undefined ? "schedule" : "hook",
          ...(hook === undefined ? {} : { hook }),
          correlationId,
          runId,
        });
      });
      ok = result.ok;
    } catch (error) {
      // The call never became a run (plugin unloaded or disabled since the schedule was armed).
      ran = null;
      this.#emit("schedule.failed", "error", schedule, {
        occurrence: iso(planned),
        error: messageOf(error),
        code: error instanceof HostError ? error.code : "host_error",
      }, { correlationId });
    } finally {
      clearInterval(renew);
    }
    await this.#batcher.finish(key, ran).catch((error) =>
      this.#emit("schedule.failed", "error", schedule, {
        occurrence: iso(planned),
        error: `Cannot mark the lease done: ${messageOf(error)}`,
      })
    );
    this.#onRun?.({
      scheduleId: schedule.id,
      name: schedule.name,
      occurrence: planned,
      lateMs,
      callLateMs,
      runId: ran,
      ok,
    });
  }

  /**
   * Missed occurrences (host down, or schedule paused) since the latest
   * handled one, the schedule's anchor or its last change, whichever is
   * later. `skip`: recorded; `catch-up-once`: the latest one runs now.
   */
  async #applyMissed(entry: Entry, latest: number | undefined): Promise<void> {
    const schedule = entry.schedule;
    const now = this.#clock.now();
    const after = Math.max(latest ?? 0, schedule.anchorAt - 1, schedule.updatedAt);
    const missed = occurrencesBetween(schedule, after, now - this.#graceMs);
    if (missed.count === 0 || missed.last === null) return;
    const key = { scheduleId: schedule.id, occurrence: missed.last };
    const payload = {
      policy: schedule.missed,
      count: missed.count,
      first: iso(missed.first ?? missed.last),
      last: iso(missed.last),
    };
    if (schedule.missed === "skip") {
      if (await this.#leases.recordMissed(key, after, this.holder, "missed", null, now, 0)) {
        this.#emit("schedule.missed", "warn", schedule, payload);
      }
      return;
    }
    if (this.#busy.has(schedule.id)) return;
    const runId = ulid();
    this.#busy.set(schedule.id, missed.last);
    await this.#track(async () => {
      try {
        const won = await this.#leases.recordMissed(
          key,
          after,
          this.holder,
          "held",
          runId,
          now,
          this.#leaseMs,
        );
        if (!won) return;
        this.#emit("schedule.missed", "warn", schedule, { ...payload, runId });
        await this.#run(schedule, missed.last!, runId, "catch-up", {
          kind: "claimed",
          attempts: 1,
          previousHolder: null,
        });
      } finally {
        this.#busy.delete(schedule.id);
      }
    });
  }

  /** Leases whose holder stopped renewing them: run those occurrences here. */
  async #takeOver(): Promise<void> {
    for (const lease of await this.#leases.expired(this.#clock.now())) {
      const entry = this.#entries.get(lease.scheduleId);
      if (entry && lease.holder !== this.holder) {
        void this.#fire(entry, lease.occurrence, "takeover");
      }
    }
  }

  #track(work: () => Promise<void>): Promise<void> {
    const promise = work();
    this.#inflight.add(promise);
    void promise.finally(() => this.#inflight.delete(promise));
    return promise;
  }
}
