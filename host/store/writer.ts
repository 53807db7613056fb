/**
 * A batching writer (group commit): callers enqueue items, one pump writes
 * them in order, up to `maxBatch` per transaction, when a batch is full, or
 * once the event-loop turn in which the first item arrived ends (or
 * `flushIntervalMs` after it, when set); items that arrive while a batch
 * commits form the next one. The queue is bounded: when
 * full, callers wait (back-pressure, not loss). A failed write is retried with
 * growing delays; each failure is reported. Every enqueue returns a promise
 * that settles when the transaction holding the item commits, so a caller that
 * needs durability awaits it and one that does not can ignore it safely.
 * @module
 */
import { clearImmediate, setImmediate } from "node:timers";
import { HostError } from "../errors.ts";

/** Tuning of the writer; every field has a default. */
export interface WriterOptions {
  /** Items per transaction (default 4000: fewer commits, so fewer fsyncs, under load). */
  maxBatch?: number;
  /**
   * How long the first item queued to an idle writer waits for company, in ms.
   * Default 0: until the end of the event-loop turn it arrived in (what that
   * turn queued joins it; while a batch commits, the next one gathers anyway).
   */
  flushIntervalMs?: number;
  /** Queued items at most; further enqueues wait for room (default 20000). */
  maxQueue?: number;
  /** First retry delay in ms; doubles per attempt up to 2000 (default 25). */
  retryDelayMs?: number;
  /** Attempts at one batch before its items are tried one by one and failures rejected (default 10). */
  maxAttempts?: number;
}

/** What the writer tells its owner about failures (the store turns these into host events). */
export interface WriterHooks<T> {
  /** A batch failed and will be tried again after `delayMs`. */
  onRetry?(error: unknown, attempt: number, items: readonly T[], delayMs: number): void;
  /** These items could not be written after every attempt; their promises reject. */
  onFailure?(error: unknown, items: readonly T[]): void;
}

/** Counters for doctor, metrics and tests. */
export interface WriterStats {
  written: number;
  failed: number;
  retries: number;
  batches: number;
  queued: number;
}

/**
 * Items queued together share one group and one settlement: per item the
 * writer keeps only the item itself and the promise it returned, not two
 * callbacks (at tens of thousands of events a second that garbage was a fifth
 * of the profile).
 */
interface Group<T> {
  items: T[];
  /**
   * The promise each item's caller got, by index: only an item that finally
   * fails needs its rejection marked handled (before the group settles), so
   * no item pays for a `.catch` promise up front.
   */
  outcomes: Promise<unknown>[];
  /** Resolves (never rejects) once the group's transaction ended either way. */
  done: Promise<void>;
  settle(): void;
  /** After the last attempt: the error of each item that could not be written, by index. */
  failures: Map<number, unknown> | undefined;
}

/** The group-commit queue. `write` stores a batch atomically or throws. */
export class BatchWriter<T> {
  readonly #write: (items: T[]) => Promise<void>;
  readonly #hooks: WriterHooks<T>;
  readonly #maxBatch: number;
  readonly #interval: number;
  readonly #maxQueue: number;
  readonly #retryDelay: number;
  readonly #maxAttempts: number;
  /** Queued groups not yet taken by the pump, oldest first; each holds at most maxBatch items. */
  #groups: Group<T>[] = [];
  /** Items in `#groups`: at most maxQueue. */
  #queued = 0;
  /**
   * Groups of callers waiting for room, in arrival order. Their items join the
   * queue a whole group at a time as batches leave it; until then their
   * promises stay pending (back-pressure).
   */
  #waiting: Group<T>[] = [];
  /** Items accepted so far, and items whose group has settled (written or finally failed). */
  #enqueued = 0;
  #settled = 0;
  #flushWaiters: { target: number; resolve(): void }[] = [];
  /** Cancels the pending start of the pump, if one is pending. */
  #timer: (() => void) | undefined;
  #pumping: Promise<void> | undefined;
  #closed = false;
  readonly stats: WriterStats = { written: 0, failed: 0, retries: 0, batches: 0, queued: 0 };

  constructor(
    write: (items: T[]) => Promise<void>,
    options: WriterOptions = {},
    hooks: WriterHooks<T> = {},
  ) {
    this.#write = write;
    this.#hooks = hooks;
    this.#maxBatch = positive(options.maxBatch ?? 4000, "maxBatch");
    this.#interval = Math.max(0, options.flushIntervalMs ?? 0);
    this.#maxQueue = Math.max(positive(options.maxQueue ?? 20_000, "maxQueue"), this.#maxBatch);
    this.#retryDelay = Math.max(1, options.retryDelayMs ?? 25);
    this.#maxAttempts = positive(options.maxAttempts ?? 10, "maxAttempts");
  }

  /** Queues an item; the promise settles when it is durable (or finally failed). */
  enqueue(item: T): Promise<void> {
    return this.enqueueWith(item, undefined);
  }

  /**
   * Like {@link enqueue}, but the promise resolves with `value` once the item
   * is durable: saves callers a `.then` (one more promise per item).
   */
  enqueueWith<R>(item: T, value: R): Promise<R> {
    if (this.#closed) return closedError();
    this.#enqueued++;
    const group = this.#place(item);
    const index = group.items.length - 1;
    const promise = group.done.then(() => {
      const failure = group.failures?.get(index);
      if (failure !== undefined) throw failure;
      return value;
    });
    group.outcomes.push(promise);
    return promise;
  }

  /**
   * Like {@link enqueueWith}, but the value is made from the item by `result`
   * once the item is durable: what the caller gets back need not sit in the
   * queue next to the item (less to keep alive, and nothing made for callers
   * that never look).
   */
  enqueueAs<R>(item: T, result: (item: T) => R): Promise<R> {
    if (this.#closed) return closedError();
    this.#enqueued++;
    const group = this.#place(item);
    const index = group.items.length - 1;
    const promise = group.done.then(() => {
      const failure = group.failures?.get(index);
      if (failure !== undefined) throw failure;
      return result(item);
    });
    group.outcomes.push(promise);
    return promise;
  }

  /** Writes everything queued so far; resolves once it is committed (or finally failed). */
  flush(): Promise<void> {
    // Items are numbered in queue order and groups settle in that order, so "everything
    // so far" is a count: later items (a busy producer) never hold a flush up.
    const target = this.#enqueued;
    if (this.#settled >= target) return Promise.resolve();
    this.#startPump();
    return new Promise((resolve) => this.#flushWaiters.push({ target, resolve }));
  }

  /** Refuses new items and drains the queue. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.flush();
    this.#timer?.();
  }

  #place(item: T): Group<T> {
    if (this.#waiting.length > 0 || this.#queued >= this.#maxQueue) {
      // Full: wait for room behind everyone already waiting.
      let group = this.#waiting[this.#waiting.length - 1];
      if (group === undefined || group.items.length >= this.#maxBatch) {
        group = newGroup<T>();
        this.#waiting.push(group);
      }
      group.items.push(item);
      return group;
    }
    let group = this.#groups[this.#groups.length - 1];
    if (group === undefined || group.items.length >= this.#maxBatch) {
      group = newGroup<T>();
      this.#groups.push(group);
    }
    group.items.push(item);
    this.#queued++;
    this.stats.queued = this.#queued;
    if (group.items.length >= this.#maxBatch) this.#startPump();
    else if (this.#timer === undefined && this.#pumping === undefined) {
      this.#timer = later(() => this.#startPump(), this.#interval);
    }
    return group;
  }

  #startPump(): void {
    this.#timer?.();
    this.#timer = undefined;
    if (this.#pumping !== undefined || this.#groups.length === 0) return;
    this.#pumping = this.#pump().finally(() => {
      this.#pumping = undefined;
      // Items queued while the last batch was written form the next one.
      if (this.#groups.length > 0) this.#startPump();
    });
  }

  async #pump(): Promise<void> {
    while (true) {
      if (this.#groups.length === 0) {
        // Callers woken by the last commit queue their next items in the microtasks that
        // follow it: let them, so those join this pump at once instead of waiting for the timer.
        await new Promise((resolve) => setImmediate(resolve));
        if (this.#groups.length === 0) return;
      }
      const group = this.#groups.shift()!;
      this.#queued -= group.items.length;
      this.#admitWaiting();
      try {
        await this.#writeWithRetry(group);
      } finally {
        group.settle();
        this.#settled += group.items.length;
        this.#wakeFlushWaiters();
      }
    }
  }

  #wakeFlushWaiters(): void {
    // Targets were pushed in increasing order.
    let n = 0;
    while (n < this.#flushWaiters.length && this.#flushWaiters[n]!.target <= this.#settled) {
      this.#flushWaiters[n++]!.resolve();
    }
    if (n > 0) this.#flushWaiters.splice(0, n);
  }

  /** Moves waiting groups into the queue while they fit (a partly filled one keeps filling there). */
  #admitWaiting(): void {
    let n = 0;
    while (n < this.#waiting.length) {
      const group = this.#waiting[n]!;
      if (this.#queued + group.items.length > this.#maxQueue) break;
      this.#groups.push(group);
      this.#queued += group.items.length;
      n++;
    }
    if (n > 0) this.#waiting.splice(0, n);
    this.stats.queued = this.#queued;
  }

  async #writeWithRetry(group: Group<T>): Promise<void> {
    const items = group.items;
    for (let attempt = 1;; attempt++) {
      try {
        await this.#write(items);
        this.stats.batches++;
        this.stats.written += items.length;
        return;
      } catch (error) {
        if (attempt >= this.#maxAttempts) {
          await this.#isolate(group, error);
          return;
        }
        const delay = Math.min(2000, this.#retryDelay * 2 ** (attempt - 1));
        this.stats.retries++;
        this.#hooks.onRetry?.(error, attempt, items, delay);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** After the last attempt: write items one by one so one bad item cannot sink the rest. */
  async #isolate(group: Group<T>, batchError: unknown): Promise<void> {
    const failed: T[] = [];
    const failures = new Map<number, unknown>();
    let lastError = batchError;
    for (const [index, item] of group.items.entries()) {
      try {
        if (group.items.length === 1) throw batchError;
        await this.#write([item]);
        this.stats.written++;
      } catch (error) {
        lastError = error;
        failed.push(item);
        this.stats.failed++;
        failures.set(
          index,
          new HostError(
            "storage_error",
            `Cannot write to the database after ${this.#maxAttempts} attempts: ${
              error instanceof Error ? error.message : error
            }`,
            { cause: error },
          ),
        );
      }
    }
    if (failures.size > 0) {
      group.failures = failures;
      // Callers that did not await must not see an unhandled rejection; awaiters still get it.
      for (const index of failures.keys()) handled(group.outcomes[index]!);
    }
    if (failed.length > 0) this.#hooks.onFailure?.(lastError, failed);
  }
}

/**
 * Runs `run` after `ms`, or at the end of this event-loop turn when `ms` is 0
 * (a 0 ms timer waits ~1 ms on Node and longer on a busy Deno loop: a durable
 * call's answer waited for it); returns its cancel.
 */
function later(run: () => void, ms: number): () => void {
  if (ms === 0) {
    const immediate = setImmediate(run);
    return () => clearImmediate(immediate);
  }
  const timer = setTimeout(run, ms);
  return () => clearTimeout(timer);
}

function newGroup<T>(): Group<T> {
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  return { items: [], outcomes: [], done, settle, failures: undefined };
}

function closedError<R>(): Promise<R> {
  return handled(Promise.reject(
    new HostError("storage_error", "The store is closed: open it again before writing"),
  ));
}

/** Marks a promise's rejection handled (awaiters still see it) and returns the promise. */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new HostError("usage", `Writer option ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
