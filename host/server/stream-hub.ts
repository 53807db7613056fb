/**
 * One follower of the event log for every open event stream. The hub reads
 * new events once per tick (one query, whatever the number of streams) and
 * hands each stream the ones its filter matches, already formatted as SSE
 * messages; an idle stream costs nothing per tick. With no stream open the
 * hub does not poll at all.
 * @module
 */
import { setImmediate } from "node:timers";
import type { EventBatchItem, EventQuery, Store } from "../store/mod.ts";

/** One event as a stream sends it: its cursor, its whole SSE message, what filters read. */
export interface StreamItem {
  cursor: number;
  message: string;
  type: string;
  pluginId: string | null;
  runId: string | null;
}

/** What a stream follows: the same filters as `GET /v1/events`, without time. */
export type StreamFilter = Pick<EventQuery, "type" | "pluginId" | "runId">;

/** Why `Subscription.next` returned without items. */
export type Wake = "overflow" | "closed" | "idle";

/** Events per hub query. */
const HUB_BATCH = 1000;

/** Builds the SSE message of one event (`id` is its cursor, so clients resume after it). */
export function sseMessage(item: EventBatchItem): string {
  // Types are checked against [A-Za-z0-9_.:-] on append, and JSON text has no raw newline,
  // so neither field can end the message early; strip anyway, it is a wire format.
  const type = item.type.replace(/[\r\n]/g, "");
  return `id: ${item.cursor}\nevent: ${type}\ndata: ${item.json}\n\n`;
}

/** Whether `event` passes `filter` (the in-memory twin of the store's query). */
export function matches(
  filter: StreamFilter,
  event: { type: string; pluginId: string | null; runId: string | null },
): boolean {
  if (filter.pluginId !== undefined && event.pluginId !== filter.pluginId) return false;
  if (filter.runId !== undefined && event.runId !== filter.runId) return false;
  if (filter.type !== undefined) {
    if (filter.type.endsWith(".*")) return event.type.startsWith(filter.type.slice(0, -1));
    return event.type === filter.type;
  }
  return true;
}

/** A stream's place at the hub: matching items queue here until the stream takes them. */
export class Subscription {
  readonly filter: StreamFilter;
  readonly #maxPending: number;
  readonly #onClose: (s: Subscription) => void;
  #pending: StreamItem[] = [];
  #overflow = false;
  #closed = false;
  #wake: ((why: Wake | undefined) => void) | undefined;

  constructor(filter: StreamFilter, maxPending: number, onClose: (s: Subscription) => void) {
    this.filter = filter;
    this.#maxPending = maxPending;
    this.#onClose = onClose;
  }

  /** Called by the hub with the matching items of one tick. */
  push(items: StreamItem[]): void {
    if (this.#closed || items.length === 0) return;
    if (this.#pending.length + items.length > this.#maxPending) {
      // A slow client: drop what is queued and let the stream read it back from the store.
      this.#pending = [];
      this.#overflow = true;
    } else {
      for (const item of items) this.#pending.push(item);
    }
    this.#notify(undefined);
  }

  /**
   * The queued items, or why there are none: `overflow` (re-read from the
   * store), `closed`, or `idle` after `idleMs` without an event.
   */
  async next(idleMs: number): Promise<StreamItem[] | Wake> {
    for (;;) {
      if (this.#closed) return "closed";
      if (this.#overflow) {
        this.#overflow = false;
        return "overflow";
      }
      if (this.#pending.length > 0) return this.#pending.splice(0);
      const why = await new Promise<Wake | undefined>((resolve) => {
        const timer = setTimeout(() => resolve("idle"), idleMs);
        this.#wake = (w) => {
          clearTimeout(timer);
          resolve(w);
        };
      });
      this.#wake = undefined;
      if (why === "idle") return "idle";
    }
  }

  /** Leaves the hub; a waiting `next` returns `closed`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    this.#onClose(this);
    this.#notify("closed");
  }

  #notify(why: Wake | undefined): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.(why);
  }
}

/** The shared follower. */
export class EventHub {
  readonly #store: Store;
  readonly #pollMs: number;
  readonly #maxPending: number;
  readonly #subs = new Set<Subscription>();
  /** rowid of the last event the hub has handed out; undefined until first needed. */
  #cursor: number | undefined;
  #starting: Promise<void> | undefined;
  #running = false;
  #stopped = false;
  /** Hub queries so far (for tests and the benchmark: one per tick, not one per stream). */
  polls = 0;

  constructor(
    store: Store,
    options: { pollMs: number; maxPending?: number; signal?: AbortSignal },
  ) {
    this.#store = store;
    this.#pollMs = options.pollMs;
    this.#maxPending = options.maxPending ?? 5000;
    options.signal?.addEventListener("abort", () => this.stop(), { once: true });
  }

  /** Open subscriptions. */
  get size(): number {
    return this.#subs.size;
  }

  /**
   * Subscribes `filter`. Resolves once the hub knows where the log ends, so
   * every event committed after this resolves reaches the subscription (a
   * stream then replays from its own cursor and drops what it already sent).
   */
  async subscribe(filter: StreamFilter): Promise<Subscription> {
    if (this.#cursor === undefined) {
      this.#starting ??= this.#store.events.readBatch({ tail: true, limit: 1 }).then((page) => {
        this.#cursor = page.cursor === null ? 0 : Number(page.cursor);
      }).finally(() => {
        this.#starting = undefined;
      });
      await this.#starting;
    }
    const sub = new Subscription(filter, this.#maxPending, (s) => this.#subs.delete(s));
    this.#subs.add(sub);
    if (!this.#running && !this.#stopped) void this.#run();
    return sub;
  }

  /** Ends every subscription and the polling. */
  stop(): void {
    this.#stopped = true;
    for (const sub of [...this.#subs]) sub.close();
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#subs.size > 0 && !this.#stopped) {
        let full = false;
        try {
          full = await this.#tick();
        } catch {
          // A failed read (storage busy) is tried again next tick; streams just wait.
        }
        if (full) await new Promise((r) => setImmediate(r));
        else await new Promise((r) => setTimeout(r, this.#pollMs));
      }
    } finally {
      this.#running = false;
    }
    // A subscriber that came while the loop was ending.
    if (this.#subs.size > 0 && !this.#stopped) void this.#run();
  }

  /** One query for every stream; true when the page was full (more to read at once). */
  async #tick(): Promise<boolean> {
    this.polls++;
    const after = this.#cursor ?? 0;
    const page = await this.#store.events.readBatch({ after: String(after), limit: HUB_BATCH });
    if (page.items.length === 0) return false;
    const items: StreamItem[] = page.items.map((item) => ({
      cursor: Number(item.cursor),
      message: sseMessage(item),
      type: item.type,
      pluginId: item.pluginId,
      runId: item.runId,
    }));
    this.#cursor = items[items.length - 1]!.cursor;
    for (const sub of this.#subs) {
      const f = sub.filter;
      const all = f.type === undefined && f.pluginId === undefined && f.runId === undefined;
      sub.push(all ? items : items.filter((i) => matches(f, i)));
    }
    return page.items.length === HUB_BATCH;
  }
}

/**
 * Replays take turns: one batch at a time across every stream, with a turn
 * of the event loop between batches, so twenty streams replaying the whole
 * log cost other requests one batch of latency, not twenty.
 */
export class ReplayGate {
  #busy = false;
  readonly #queue: (() => void)[] = [];

  /** Runs `work` when no other batch runs; the next one starts after an event-loop turn. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#busy) await new Promise<void>((resolve) => this.#queue.push(resolve));
    this.#busy = true;
    try {
      return await work();
    } finally {
      // setImmediate runs after pending I/O, so waiting requests are served first.
      setImmediate(() => {
        const next = this.#queue.shift();
        if (next) next();
        else this.#busy = false;
      });
    }
  }
}
