/**
 * One follower of the event log for every open event stream. The hub reads
 * new events once per tick (one query, whatever the number of streams) and
 * hands each stream the ones its filter matches, already formatted as SSE
 * messages; an idle stream costs nothing per tick. With no stream open the
 * hub does not poll at all. What waits for a slow client is bounded (events
 * and bytes): past either bound the queue is dropped and the stream ends
 * with `server.stream.end` (reason `slow_client`), and the client resumes
 * from the last event id it received.
 * @module
 */
import { setImmediate } from "node:timers";
import type { EventBatchItem, EventQuery, Store } from "../store/mod.ts";

/** One event as a stream sends it: its cursor, its whole SSE message, what filters read. */
export interface StreamItem {
  cursor: number;
  message: string;
  /** UTF-8 size of `message`. */
  bytes: number;
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

/** SSE event name of the message that ends a stream early (a root plugins may not publish under). */
export const STREAM_END = "server.stream.end";

/** Why a stream ended early: a client too slow for its queue, or a run followed too long. */
export type StreamEndReason = "slow_client" | "follow_limit";

/**
 * The last message of a stream the server ends: no `id` line (the client's
 * last event id stays that of the last event it got), data `{reason, cursor,
 * detail}`; the client reconnects with `Last-Event-ID: <cursor>`.
 */
export function streamEndMessage(reason: StreamEndReason, cursor: number, detail: string): string {
  const data = { reason, cursor: cursor < 0 ? null : String(cursor), detail };
  return `event: ${STREAM_END}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** UTF-8 length of `text`, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair: one four-byte character.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * The SSE texts of `items` in order, in writes of at most about `maxWrite`
 * bytes, stopping after the item that reaches `budget` bytes (always at
 * least one item): a replay holds at most about `budget` for a client that
 * does not read, and reads on from `last`.
 */
export function replayTexts(
  items: readonly EventBatchItem[],
  budget: number,
  maxWrite: number,
): { texts: string[]; taken: number; last: number | undefined } {
  const texts: string[] = [];
  let text = "";
  let size = 0;
  let total = 0;
  let taken = 0;
  let last: number | undefined;
  for (const item of items) {
    const message = sseMessage(item);
    const bytes = utf8Length(message);
    text += message;
    size += bytes;
    total += bytes;
    taken++;
    last = Number(item.cursor);
    if (size >= maxWrite) {
      texts.push(text);
      text = "";
      size = 0;
    }
    if (total >= budget) break;
  }
  if (text !== "") texts.push(text);
  return { texts, taken, last };
}

/**
 * The SSE text of the items past `cursor` (a replay and the live feed may overlap), and the
 * cursor after them.
 */
export function unseenText(items: StreamItem[], cursor: number): { text: string; cursor: number } {
  let text = "";
  for (const item of items) {
    if (item.cursor <= cursor) continue;
    text += item.message;
    cursor = item.cursor;
  }
  return { text, cursor };
}

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
  readonly #maxBytes: number;
  readonly #onClose: (s: Subscription) => void;
  readonly #onQueued: (bytes: number) => void;
  #pending: StreamItem[] = [];
  #pendingBytes = 0;
  /** Set once the queue overflowed: nothing more is queued, the stream ends. */
  #overflow = false;
  #overflowSeen = false;
  #closed = false;
  #wake: ((why: Wake | undefined) => void) | undefined;

  constructor(
    filter: StreamFilter,
    limits: { maxPending: number; maxBytes: number },
    onClose: (s: Subscription) => void,
    onQueued: (bytes: number) => void = () => {},
  ) {
    this.filter = filter;
    this.#maxPending = limits.maxPending;
    this.#maxBytes = limits.maxBytes;
    this.#onClose = onClose;
    this.#onQueued = onQueued;
  }

  /** Bytes of SSE text queued now, waiting for the stream to take them (at most the cap). */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Whether the queue overflowed (the stream then ends with `slow_client`). */
  get overflowed(): boolean {
    return this.#overflow;
  }

  /** Called by the hub with the matching items of one tick. */
  push(items: StreamItem[]): void {
    if (this.#closed || this.#overflow || items.length === 0) return;
    let bytes = this.#pendingBytes;
    for (const item of items) bytes += item.bytes;
    // Into an empty queue a tick's items always go: the hub hands out at most `maxBytes`
    // per tick (or one larger event), so one tick alone never ends a stream that took all.
    const over = this.#pending.length + items.length > this.#maxPending || bytes > this.#maxBytes;
    if (over && this.#pending.length > 0) {
      // A slow client: drop what is queued (the memory goes now) and queue nothing more;
      // the stream ends and its client resumes from the store with its last event id.
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#overflow = true;
    } else {
      for (const item of items) this.#pending.push(item);
      this.#pendingBytes = bytes;
      this.#onQueued(bytes);
    }
    this.#notify(undefined);
  }

  /**
   * The queued items, or why there are none: `overflow` (the queue was
   * dropped: end the stream), `closed`, or `idle` after `idleMs` without an event.
   */
  async next(idleMs: number): Promise<StreamItem[] | Wake> {
    for (;;) {
      if (this.#closed) return "closed";
      if (this.#overflow) {
        if (this.#overflowSeen) return "closed";
        this.#overflowSeen = true;
        return "overflow";
      }
      if (this.#pending.length > 0) {
        this.#pendingBytes = 0;
        return this.#pending.splice(0);
      }
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
    this.#pendingBytes = 0;
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
  readonly #maxPendingBytes: number;
  readonly #subs = new Set<Subscription>();
  /** rowid of the last event the hub has handed out; undefined until first needed. */
  #cursor: number | undefined;
  #starting: Promise<void> | undefined;
  #running = false;
  #stopped = false;
  /** Hub queries so far (for tests and the benchmark: one per tick, not one per stream). */
  polls = 0;
  /** Most bytes one subscription has had queued (never above `maxPendingBytes`). */
  peakPendingBytes = 0;
  /** Subscriptions whose queue overflowed (their streams ended with `slow_client`). */
  overflows = 0;

  constructor(
    store: Store,
    options: {
      pollMs: number;
      maxPending?: number;
      maxPendingBytes?: number;
      signal?: AbortSignal;
    },
  ) {
    this.#store = store;
    this.#pollMs = options.pollMs;
    this.#maxPending = options.maxPending ?? 5000;
    this.#maxPendingBytes = options.maxPendingBytes ?? 4 * 1024 * 1024;
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
    const sub = new Subscription(
      filter,
      { maxPending: this.#maxPending, maxBytes: this.#maxPendingBytes },
      (s) => this.#subs.delete(s),
      (bytes) => {
        if (bytes > this.peakPendingBytes) this.peakPendingBytes = bytes;
      },
    );
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
    const items: StreamItem[] = page.items.map((item) => {
      const message = sseMessage(item);
      return {
        cursor: Number(item.cursor),
        message,
        bytes: utf8Length(message),
        type: item.type,
        pluginId: item.pluginId,
        runId: item.runId,
      };
    });
    // At most `maxPendingBytes` per tick (at least one event): a stream's queue can take
    // any one tick's share; the rest is read again at once.
    let count = 0;
    let bytes = 0;
    while (
      count < items.length && (count === 0 || bytes + items[count]!.bytes <= this.#maxPendingBytes)
    ) {
      bytes += items[count]!.bytes;
      count++;
    }
    if (count < items.length) items.length = count;
    this.#cursor = items[items.length - 1]!.cursor;
    for (const sub of this.#subs) {
      const f = sub.filter;
      const all = f.type === undefined && f.pluginId === undefined && f.runId === undefined;
      const was = sub.overflowed;
      sub.push(all ? items : items.filter((i) => matches(f, i)));
      if (!was && sub.overflowed) this.overflows++;
    }
    return count < page.items.length || page.items.length === HUB_BATCH;
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
