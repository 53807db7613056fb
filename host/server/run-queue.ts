/**
 * Async runs (`?async=true`): a bounded queue in front of the core's one
 * invoke, with a per-plugin concurrency limit, and the outcomes of finished
 * runs kept in memory for a while so `GET /v1/runs/{id}/stream` can end with
 * the output. The store keeps the RunRecord (status, digests, usage) but not
 * the output bytes, so the output of an async run is retrievable from this
 * server for `resultTtlMs` after it ends (at most `maxResults` outcomes and
 * `MAX_KEPT_OUTPUT_BYTES` of output, the oldest dropped first); see
 * docs/http-api.md.
 * @module
 */
import { HostError } from "../errors.ts";
import type { InvokeResult } from "../core/mod.ts";

/**
 * Most output bytes kept across finished outcomes: a count alone would let
 * 1,000 large outputs (up to the policy's output cap each) hold gigabytes.
 */
export const MAX_KEPT_OUTPUT_BYTES = 256 * 1024 * 1024;

/** Tunables of the queue (ServerOptions carries them). */
export interface RunQueueOptions {
  /** Runs queued or running at once across plugins; more answer 429. */
  maxQueued: number;
  /** Runs of one plugin that execute at once; the rest wait in the queue. */
  perPlugin: number;
  /** How long a finished run's outcome (and output) stays retrievable, in ms. */
  resultTtlMs: number;
  /** Most finished outcomes kept. */
  maxResults: number;
}

/** How an async run ended, as the stream's final `result` message carries it. */
export type RunOutcome =
  | { runId: string; ok: true; output: Uint8Array; usage: InvokeResult["usage"] }
  | {
    runId: string;
    ok: false;
    error: { class: string; message: string };
    usage: InvokeResult["usage"] | null;
  };

interface Entry {
  runId: string;
  pluginId: string;
  /** The id of the token that started the run, if one did. */
  owner: string | undefined;
  state: "queued" | "running" | "done";
  start: () => Promise<InvokeResult>;
  done: Promise<RunOutcome>;
  settle: (outcome: RunOutcome) => void;
  outcome?: RunOutcome;
  endedAt?: number;
}

/** The queue of one server. */
export class RunQueue {
  readonly #options: RunQueueOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #waiting = new Map<string, Entry[]>();
  readonly #running = new Map<string, number>();
  #active = 0;
  #closed = false;

  constructor(options: RunQueueOptions, signal?: AbortSignal) {
    this.#options = options;
    signal?.addEventListener("abort", () => this.close(), { once: true });
  }

  /** Runs queued or running. */
  get active(): number {
    return this.#active;
  }

  /**
   * Queues `start` (which must run the core's invoke with `runId`) for
   * `pluginId`, started by the token `owner`. Throws `rate_limited` (429,
   * Retry-After) when the queue is full, `not_ready` once closed.
   */
  submit(
    runId: string,
    pluginId: string,
    start: () => Promise<InvokeResult>,
    owner?: string,
  ): void {
    if (this.#closed) throw new HostError("not_ready", "The server is shutting down");
    if (this.#active >= this.#options.maxQueued) {
      throw new HostError(
        "rate_limited",
        `The async run queue is full (${this.#active} runs queued or running, its limit): retry later`,
        { headers: { "retry-after": "1" }, extensions: { limit: this.#options.maxQueued } },
      );
    }
    let settle!: (outcome: RunOutcome) => void;
    const done = new Promise<RunOutcome>((resolve) => (settle = resolve));
    const entry: Entry = { runId, pluginId, owner, state: "queued", start, done, settle };
    this.#entries.set(runId, entry);
    this.#active++;
    const queue = this.#waiting.get(pluginId) ?? [];
    queue.push(entry);
    this.#waiting.set(pluginId, queue);
    this.#pump(pluginId);
  }

  /** The state of a run this queue knows (queued, running, or done and still kept). */
  state(runId: string): "queued" | "running" | "done" | undefined {
    this.#expire();
    return this.#entries.get(runId)?.state;
  }

  /** The id of the token that started a run this queue knows (see `state`), if one did. */
  owner(runId: string): string | undefined {
    this.#expire();
    return this.#entries.get(runId)?.owner;
  }

  /** Resolves with the run's outcome when it ends; undefined for a run this queue does not know. */
  outcome(runId: string): Promise<RunOutcome> | undefined {
    this.#expire();
    return this.#entries.get(runId)?.done;
  }

  /** Refuses new runs and ends the queued ones as `not_ready` (running ones finish). */
  close(): void {
    this.#closed = true;
    for (const [pluginId, queue] of this.#waiting) {
      for (const entry of queue.splice(0)) {
        this.#finish(entry, {
          runId: entry.runId,
          ok: false,
          error: { class: "not_ready", message: "The server shut down before the run started" },
          usage: null,
        });
      }
      this.#waiting.delete(pluginId);
    }
  }

  #pump(pluginId: string): void {
    const queue = this.#waiting.get(pluginId);
    while (
      queue && queue.length > 0 && (this.#running.get(pluginId) ?? 0) < this.#options.perPlugin
    ) {
      const entry = queue.shift()!;
      this.#running.set(pluginId, (this.#running.get(pluginId) ?? 0) + 1);
      entry.state = "running";
      void this.#run(entry);
    }
    if (queue && queue.length === 0) this.#waiting.delete(pluginId);
  }

  async #run(entry: Entry): Promise<void> {
    let outcome: RunOutcome;
    try {
      const result = await entry.start();
      outcome = result.ok
        ? { runId: result.runId, ok: true, output: result.output, usage: result.usage }
        : { runId: result.runId, ok: false, error: result.error, usage: result.usage };
    } catch (error) {
      // Refused before it became a run (the plugin was disabled or removed meanwhile).
      outcome = {
        runId: entry.runId,
        ok: false,
        error: {
          class: error instanceof HostError ? error.code : "host_error",
          message: error instanceof Error ? error.message : String(error),
        },
        usage: null,
      };
    }
    this.#running.set(entry.pluginId, (this.#running.get(entry.pluginId) ?? 1) - 1);
    this.#finish(entry, outcome);
    this.#pump(entry.pluginId);
  }

  #finish(entry: Entry, outcome: RunOutcome): void {
    entry.state = "done";
    entry.outcome = outcome;
    entry.endedAt = Date.now();
    this.#active--;
    entry.settle(outcome);
    this.#expire();
  }

  /**
   * Drops outcomes older than the TTL, and the oldest beyond `maxResults` or
   * beyond `MAX_KEPT_OUTPUT_BYTES` of output.
   */
  #expire(): void {
    const now = Date.now();
    let kept = 0;
    let bytes = 0;
    for (const entry of this.#entries.values()) {
      if (entry.state !== "done") continue;
      kept++;
      bytes += outputBytes(entry);
    }
    // Map order is submission order: the oldest first.
    for (const [id, entry] of this.#entries) {
      if (entry.state !== "done") continue;
      if (
        kept > this.#options.maxResults || bytes > MAX_KEPT_OUTPUT_BYTES ||
        now - entry.endedAt! > this.#options.resultTtlMs
      ) {
        this.#entries.delete(id);
        kept--;
        bytes -= outputBytes(entry);
      }
    }
  }
}

function outputBytes(entry: Entry): number {
  return entry.outcome?.ok ? entry.outcome.output.byteLength : 0;
}
