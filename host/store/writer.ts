/**
 * A batching writer (group commit): callers enqueue items, one pump writes
 * them in order, up to `maxBatch` per transaction, when a batch is full or
 * `flushIntervalMs` after the first item arrived. The queue is bounded: when
 * full, callers wait (back-pressure, not loss). A failed write is retried with
 * growing delays; each failure is reported. Every enqueue returns a promise
 * that settles when the transaction holding the item commits, so a caller that
 * needs durability awaits it and one that does not can ignore it safely.
 * @module
 */
import { HostError } from "../errors.ts";

/** Tuning of the writer; every field has a default. */
export interface WriterOptions {
  /** Items per transaction (default 1000). */
  maxBatch?: number;
  /** How long the first queued item waits for company before a flush, in ms (default 2). */
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

interface Entry<T> {
  item: T;
  resolve(): void;
  reject(error: unknown): void;
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
  #queue: Entry<T>[] = [];
  #roomWaiters: (() => void)[] = [];
  #waitingForRoom = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pumping: Promise<void> | undefined;
  #tail: Promise<void> = Promise.resolve();
  #closed = false;
  readonly stats: WriterStats = { written: 0, failed: 0, retries: 0, batches: 0, queued: 0 };

  constructor(
    write: (items: T[]) => Promise<void>,
    options: WriterOptions = {},
    hooks: WriterHooks<T> = {},
  ) {
    this.#write = write;
    this.#hooks = hooks;
    this.#maxBatch = positive(options.maxBatch ?? 1000, "maxBatch");
    this.#interval = Math.max(0, options.flushIntervalMs ?? 2);
    this.#maxQueue = Math.max(positive(options.maxQueue ?? 20_000, "maxQueue"), this.#maxBatch);
    this.#retryDelay = Math.max(1, options.retryDelayMs ?? 25);
    this.#maxAttempts = positive(options.maxAttempts ?? 10, "maxAttempts");
  }

  /** Queues an item; the promise settles when it is durable (or finally failed). */
  enqueue(item: T): Promise<void> {
    if (this.#closed) {
      return handled(Promise.reject(
        new HostError("storage_error", "The store is closed: open it again before writing"),
      ));
    }
    let promise: Promise<void>;
    if (this.#queue.length < this.#maxQueue && this.#waitingForRoom === 0) {
      promise = new Promise((resolve, reject) => this.#push({ item, resolve, reject }));
    } else {
      // Full: wait for room in arrival order, then queue.
      this.#waitingForRoom++;
      promise = new Promise<void>((resolve, reject) => {
        this.#roomWaiters.push(() => {
          this.#waitingForRoom--;
          this.#push({ item, resolve, reject });
        });
      });
    }
    this.#tail = promise.catch(() => {});
    // Mark handled so an ignored promise never becomes an unhandled rejection; awaiters still see it.
    return handled(promise);
  }

  /** Writes everything queued so far; resolves once it is committed (or finally failed). */
  async flush(): Promise<void> {
    const tail = this.#tail;
    this.#startPump();
    await tail;
    await this.#pumping;
  }

  /** Refuses new items and drains the queue. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.flush();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  #push(entry: Entry<T>): void {
    this.#queue.push(entry);
    this.stats.queued = this.#queue.length;
    if (this.#queue.length >= this.#maxBatch) this.#startPump();
    else if (this.#timer === undefined && this.#pumping === undefined) {
      this.#timer = setTimeout(() => this.#startPump(), this.#interval);
    }
  }

  #startPump(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#pumping !== undefined || this.#queue.length === 0) return;
    this.#pumping = this.#pump().finally(() => {
      this.#pumping = undefined;
      // Items queued while the last batch was written form the next one.
      if (this.#queue.length > 0) this.#startPump();
    });
  }

  async #pump(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.stats.queued = this.#queue.length;
      this.#wakeRoomWaiters();
      await this.#writeWithRetry(batch);
    }
  }

  #wakeRoomWaiters(): void {
    // A head index, not shift(): with many thousands waiting, shift() would be O(n) each.
    let head = 0;
    while (head < this.#roomWaiters.length && this.#queue.length < this.#maxQueue) {
      this.#roomWaiters[head++]!();
    }
    if (head > 0) this.#roomWaiters = this.#roomWaiters.slice(head);
  }

  async #writeWithRetry(batch: Entry<T>[]): Promise<void> {
    const items = batch.map((e) => e.item);
    for (let attempt = 1;; attempt++) {
      try {
        await this.#write(items);
        this.stats.batches++;
        this.stats.written += batch.length;
        for (const entry of batch) entry.resolve();
        return;
      } catch (error) {
        if (attempt >= this.#maxAttempts) {
          await this.#isolate(batch, error);
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
  async #isolate(batch: Entry<T>[], batchError: unknown): Promise<void> {
    const failed: T[] = [];
    let lastError = batchError;
    for (const entry of batch) {
      try {
        if (batch.length === 1) throw batchError;
        await this.#write([entry.item]);
        this.stats.written++;
        entry.resolve();
      } catch (error) {
        lastError = error;
        failed.push(entry.item);
        this.stats.failed++;
        entry.reject(
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
    if (failed.length > 0) this.#hooks.onFailure?.(lastError, failed);
  }
}

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
