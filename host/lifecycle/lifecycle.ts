/**
 * The lifecycle of every plugin a host has loaded: its state (states.ts),
 * every move a `plugin.state_changed` event, its hooks (onLoad when it
 * starts, onShutdown when it stops) run through the host's one invoke, and
 * its circuit breaker (breaker.ts) consulted by that invoke before and after
 * every run, whatever started it. The core wires it (host/core/runtime.ts);
 * this module knows nothing of sandboxes: the runtime hands it `runHook` and
 * `restart`.
 * @module
 */
import { HostError } from "../errors.ts";
import type { Manifest } from "../manifest/mod.ts";
import { type Admission, Breaker, type BreakerPolicy, type BreakerState } from "./breaker.ts";
import { hookExport, type HookName } from "./hooks.ts";
import { assertMove, type PluginState, pluginStates } from "./states.ts";

/** One plugin's lifecycle settings, after the operator policy capped them (host/policy). */
export interface LifecycleSettings {
  /** How long onLoad and onShutdown may run, in ms. */
  hookTimeoutMs: number;
  breaker: BreakerPolicy;
}

/** How a hook's run ended. */
export interface HookOutcome {
  runId: string | undefined;
  ok: boolean;
  error?: { class: string; message: string } | undefined;
}

/** What the lifecycle needs of its host. */
export interface LifecycleDeps {
  /** Appends an event to the host's log (never throws). */
  publish(event: {
    type: string;
    level?: "info" | "warn" | "error";
    pluginId: string;
    payload: Record<string, unknown>;
  }): void;
  /** Runs `hook` of a plugin through the host's one invoke (trigger `hook`), bounded by `timeoutMs`. */
  runHook(pluginId: string, hook: HookName, timeoutMs: number): Promise<HookOutcome>;
  /** Restarts a plugin's instance pool (recovery `restart`). */
  restart(pluginId: string): Promise<void>;
  now?: () => number;
}

/** A plugin's lifecycle as the API and CLI show it. */
export interface PluginStatus {
  state: PluginState;
  /** When it entered `state` (ISO 8601). */
  since: string;
  reason: string;
  breaker: {
    state: BreakerState;
    /** Times it opened since the plugin loaded. */
    trips: number;
    /** When the next probe call is let through (open breaker), else null. */
    retryAt: string | null;
    recovery: BreakerPolicy["recovery"];
  };
}

/** A move `Lifecycles.onMove` listeners hear of (after its `plugin.state_changed` event is queued). */
export interface StateMove {
  pluginId: string;
  from: PluginState;
  to: PluginState;
  reason: string;
  /** When it moved (ms since the epoch). */
  at: number;
  /** The plugin's breaker settings (what a `suspended` move was judged by). */
  breaker: BreakerPolicy;
}

/** A call `admit` let through; hand it back to `settle`. */
export interface Ticket {
  pluginId: string;
  probe: boolean;
  /** Lifecycle hooks (onLoad, onShutdown) are not counted by the breaker. */
  counted: boolean;
}

/** Run error classes that say nothing about the plugin's health: not counted. */
const NOT_COUNTED = new Set(["busy", "rate_limited", "invoke_refused", "not_ready"]);

interface Entry {
  state: PluginState;
  since: number;
  reason: string;
  manifest: Manifest;
  settings: LifecycleSettings;
  breaker: Breaker;
}

/** The lifecycles of one host's plugins. */
export class Lifecycles {
  readonly #deps: LifecycleDeps;
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #moved = new Set<(move: StateMove) => void>();

  constructor(deps: LifecycleDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * Registers a plugin as `installed` (a new id), or takes the new manifest
   * and settings of a replaced one (which must be `stopped` by then).
   */
  register(pluginId: string, manifest: Manifest, settings: LifecycleSettings): void {
    const entry = this.#entries.get(pluginId);
    if (entry) {
      entry.manifest = manifest;
      entry.settings = settings;
      entry.breaker = new Breaker(settings.breaker);
      return;
    }
    this.#entries.set(pluginId, {
      state: "installed",
      since: this.#now(),
      reason: "loaded",
      manifest,
      settings,
      breaker: new Breaker(settings.breaker),
    });
    this.#deps.publish({
      type: "plugin.state_changed",
      pluginId,
      payload: { from: null, to: "installed", reason: "loaded" },
    });
  }

  /** Listens to every state move (evidence triggers, host/core/evidence-trigger.ts); returns how to stop. */
  onMove(listener: (move: StateMove) => void): () => void {
    this.#moved.add(listener);
    return () => this.#moved.delete(listener);
  }

  /** The plugin's state, or undefined when it is not registered. */
  state(pluginId: string): PluginState | undefined {
    return this.#entries.get(pluginId)?.state;
  }

  /** The plugin's lifecycle as shown by the API and CLI. */
  status(pluginId: string): PluginStatus | undefined {
    const entry = this.#entries.get(pluginId);
    if (!entry) return undefined;
    const retryAt = entry.breaker.retryAt();
    return {
      state: entry.state,
      since: new Date(entry.since).toISOString(),
      reason: entry.reason,
      breaker: {
        state: entry.breaker.state,
        trips: entry.breaker.trips,
        retryAt: retryAt === undefined ? null : new Date(retryAt).toISOString(),
        recovery: entry.breaker.policy.recovery,
      },
    };
  }

  /** Plugins per state (every state present, 0 when none), for `/metrics`. */
  counts(): Record<PluginState, number> {
    const counts = Object.fromEntries(pluginStates.map((s) => [s, 0])) as Record<
      PluginState,
      number
    >;
    for (const entry of this.#entries.values()) counts[entry.state]++;
    return counts;
  }

  /** Moves a plugin along the transition table (else `conflict`); a `plugin.state_changed` event. */
  move(
    pluginId: string,
    to: PluginState,
    reason: string,
    extra: Record<string, unknown> = {},
  ): void {
    const entry = this.#require(pluginId);
    assertMove(pluginId, entry.state, to);
    const from = entry.state;
    entry.state = to;
    entry.since = this.#now();
    entry.reason = reason;
    this.#deps.publish({
      type: "plugin.state_changed",
      level: to === "error" || to === "suspended" ? "warn" : "info",
      pluginId,
      payload: { from, to, reason, ...extra },
    });
    const move = { pluginId, from, to, reason, at: entry.since, breaker: entry.settings.breaker };
    for (const listener of this.#moved) {
      try {
        listener(move);
      } catch {
        // A listener's failure is its own (it reports it); the move stands.
      }
    }
  }

  /**
   * Starts a plugin: `loading`, its onLoad hook (bounded by its timeout),
   * then `active`, or `error` when onLoad failed. Never throws for the
   * plugin's behaviour: the host keeps serving the others.
   */
  async start(pluginId: string, reason: string): Promise<PluginState> {
    const entry = this.#require(pluginId);
    this.move(pluginId, "loading", reason);
    if (hookExport(entry.manifest, "onLoad") === undefined) {
      this.move(pluginId, "active", "started (no onLoad hook)");
      return "active";
    }
    const outcome = await this.#hook(pluginId, "onLoad", entry.settings.hookTimeoutMs);
    if (this.state(pluginId) !== "loading") return this.#require(pluginId).state; // stopped meanwhile
    if (outcome.ok) {
      this.move(pluginId, "active", "onLoad succeeded", { runId: outcome.runId });
      return "active";
    }
    this.move(
      pluginId,
      "error",
      `onLoad failed: ${outcome.error?.class}: ${outcome.error?.message}`,
      { runId: outcome.runId, error: outcome.error },
    );
    return "error";
  }

  /**
   * Stops a plugin: `stopping`, its onShutdown hook when it had started
   * (active or suspended; bounded by its timeout, a failure only recorded),
   * then `stopped`. A plugin already stopped stays so. `withinMs` caps the
   * hook's timeout (a host's shutdown grace period); `hook: false` skips it
   * (a plugin whose signer is no longer trusted runs no more code).
   */
  async stop(
    pluginId: string,
    reason: string,
    withinMs?: number,
    options: { hook?: boolean } = {},
  ): Promise<void> {
    const entry = this.#entries.get(pluginId);
    if (!entry || entry.state === "stopped" || entry.state === "stopping") return;
    const started = (entry.state === "active" || entry.state === "suspended") &&
      (options.hook ?? true);
    this.move(pluginId, "stopping", reason);
    let extra: Record<string, unknown> = {};
    if (started && hookExport(entry.manifest, "onShutdown") !== undefined) {
      // A host stopping within a grace period gives the hook no longer than that.
      const timeoutMs = Math.max(1, Math.min(entry.settings.hookTimeoutMs, withinMs ?? Infinity));
      const outcome = await this.#hook(pluginId, "onShutdown", timeoutMs);
      extra = { runId: outcome.runId, ...(outcome.ok ? {} : { error: outcome.error }) };
    }
    this.move(pluginId, "stopped", reason, extra);
  }

  /** Forgets an unloaded plugin (stop it first). */
  forget(pluginId: string): void {
    this.#entries.delete(pluginId);
  }

  /**
   * `host plugins resume`: closes a suspended plugin's breaker (-> active),
   * or retries the onLoad of one in `error`. Anything else is a `conflict`.
   */
  async resume(pluginId: string, via: string): Promise<PluginState> {
    const entry = this.#require(pluginId);
    if (entry.state === "suspended") {
      entry.breaker.close();
      this.#deps.publish({
        type: "plugin.breaker_closed",
        pluginId,
        payload: { reason: `resumed by an operator (${via})` },
      });
      this.move(pluginId, "active", `resumed by an operator (${via})`);
      return "active";
    }
    if (entry.state === "error") {
      return await this.start(pluginId, `resumed by an operator (${via})`);
    }
    throw new HostError(
      "conflict",
      `Plugin '${pluginId}' is ${entry.state}: only a suspended plugin (or one in error) can be resumed`,
      { details: { state: entry.state } },
    );
  }

  /**
   * May a run of this plugin start now? Throws `plugin_suspended` (open
   * breaker; `retry-after` when a probe is due) or `not_ready` (loading,
   * stopping, error). onLoad runs only while `loading`, onShutdown only
   * while `stopping`; both bypass the breaker.
   */
  admit(pluginId: string, hook: HookName | undefined): Ticket | undefined {
    const entry = this.#entries.get(pluginId);
    if (!entry) return undefined;
    if (hook === "onLoad" || hook === "onShutdown") {
      const needed = hook === "onLoad" ? "loading" : "stopping";
      if (entry.state !== needed) {
        throw new HostError(
          "conflict",
          `The ${hook} hook of '${pluginId}' runs only while it is ${needed} (it is ${entry.state})`,
        );
      }
      return { pluginId, probe: false, counted: false };
    }
    if (entry.state === "active") return { pluginId, probe: false, counted: true };
    if (entry.state === "suspended") return this.#admitSuspended(pluginId, entry);
    throw notReady(pluginId, entry);
  }

  /** Counts how an admitted run ended: `undefined` ok, an error class, or `null` (never ran). */
  settle(ticket: Ticket | undefined, outcome: string | undefined | null): void {
    if (!ticket?.counted) return;
    const entry = this.#entries.get(ticket.pluginId);
    if (!entry) return;
    if (outcome === null) {
      if (ticket.probe) entry.breaker.release();
      return;
    }
    const failed = outcome !== undefined && !NOT_COUNTED.has(outcome);
    const change = entry.breaker.record(this.#now(), failed, ticket.probe);
    if (change?.kind === "closed") {
      this.#deps.publish({
        type: "plugin.breaker_closed",
        pluginId: ticket.pluginId,
        payload: { reason: "the probe call succeeded" },
      });
      if (entry.state === "suspended") {
        this.move(ticket.pluginId, "active", "the probe call succeeded");
      }
    } else if (change?.kind === "opened") {
      const retryAt = change.retryAtMs === undefined
        ? null
        : new Date(change.retryAtMs).toISOString();
      const recovery = entry.breaker.policy.recovery;
      this.#deps.publish({
        type: "plugin.breaker_opened",
        level: "warn",
        pluginId: ticket.pluginId,
        payload: {
          reason: change.reason,
          probe: change.probe,
          retryAt,
          recovery,
          lastError: outcome,
        },
      });
      if (entry.state === "active") {
        this.move(ticket.pluginId, "suspended", `circuit breaker opened: ${change.reason}`, {
          retryAt,
        });
      }
      if (recovery === "restart") void this.#restart(ticket.pluginId);
    }
  }

  #admitSuspended(pluginId: string, entry: Entry): Ticket {
    const admission: Admission = entry.breaker.admit(this.#now());
    if (admission.kind === "probe") {
      this.#deps.publish({
        type: "plugin.breaker_half_open",
        pluginId,
        payload: { reason: "cool-down over: one probe call is let through" },
      });
      return { pluginId, probe: true, counted: true };
    }
    if (admission.kind === "call") return { pluginId, probe: false, counted: true };
    const retryAt = admission.retryAtMs;
    const seconds = retryAt === undefined
      ? undefined
      : Math.max(1, Math.ceil((retryAt - this.#now()) / 1000));
    throw new HostError(
      "plugin_suspended",
      `Plugin '${pluginId}' is suspended (${entry.reason})` +
        (seconds === undefined
          ? ": its recovery is 'disable', so it stays out until an operator runs 'host plugins resume " +
            pluginId + "'"
          : `: retry in ${seconds} s, or resume it with 'host plugins resume ${pluginId}'`),
      {
        details: {
          state: entry.state,
          retryAt: retryAt === undefined ? null : new Date(retryAt).toISOString(),
        },
        ...(seconds === undefined ? {} : { headers: { "retry-after": String(seconds) } }),
      },
    );
  }

  async #hook(pluginId: string, hook: HookName, timeoutMs: number): Promise<HookOutcome> {
    // The sandbox ends a call at its timeout; the race is a second bound, so a hook whose
    // instance cannot be stopped in time still never holds up a start or a host's exit.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<HookOutcome>((resolve) => {
      timer = setTimeout(() =>
        resolve({
          runId: undefined,
          ok: false,
          error: {
            class: "timeout",
            message: `The ${hook} hook did not end within ${timeoutMs} ms`,
          },
        }), timeoutMs + 1_000);
    });
    try {
      return await Promise.race([
        this.#deps.runHook(pluginId, hook, timeoutMs).catch((error): HookOutcome => ({
          runId: undefined,
          ok: false,
          error: {
            class: error instanceof HostError ? error.code : "host_error",
            message: error instanceof Error ? error.message : String(error),
          },
        })),
        late,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #restart(pluginId: string): Promise<void> {
    try {
      await this.#deps.restart(pluginId);
      this.#deps.publish({
        type: "plugin.restarted",
        pluginId,
        payload: { reason: "circuit breaker opened (recovery: restart)" },
      });
    } catch (error) {
      this.#deps.publish({
        type: "plugin.restart_failed",
        level: "error",
        pluginId,
        payload: { error: error instanceof Error ? error.message : String(error) },
      });
    }
  }

  #require(pluginId: string): Entry {
    const entry = this.#entries.get(pluginId);
    if (!entry) throw new HostError("not_found", `No plugin '${pluginId}' is loaded`);
    return entry;
  }
}

function notReady(pluginId: string, entry: Entry): HostError {
  const hint = entry.state === "error"
    ? `; fix the plugin and install it again, or retry its onLoad with 'host plugins resume ${pluginId}'`
    : entry.state === "loading"
    ? ": its onLoad hook is running, retry shortly"
    : "";
  return new HostError(
    "not_ready",
    `Plugin '${pluginId}' is ${entry.state} (${entry.reason})${hint}`,
    {
      details: { state: entry.state },
      ...(entry.state === "loading" ? { headers: { "retry-after": "1" } } : {}),
    },
  );
}
