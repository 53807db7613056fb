/**
 * A worker plugin's host functions run on the host's thread (Extism's
 * cross-thread protocol): the call, and Extism's copy of the instance's block
 * table back to the worker, which grows with every block the call allocated.
 * A plugin that loops on a cheap host function would otherwise keep the event
 * loop busy for as long as its budget lasts. This gate caps the event loop's
 * share spent on worker host calls: a token bucket of host-thread
 * milliseconds, refilled at SHARE of wall time. A host call that finds the
 * bucket empty waits (its worker is already blocked on the answer) in FIFO
 * order, so waiting plugins take turns and HTTP, the scheduler and
 * main-thread plugins keep the rest of the loop.
 * @module
 */

/** The share of the host thread worker host calls may use over time. */
export const HOST_CALL_SHARE = 0.25;
/** The burst a quiet loop allows before the share applies, in ms. */
export const HOST_CALL_BURST_MS = 4;

/** What a host call is assumed to cost when it is let in; `settle` corrects it. */
const ESTIMATE_MS = 0.2;

/**
 * A token bucket of host-thread milliseconds with a FIFO of waiting calls.
 * A call is debited an estimate when let in and settled with what it took,
 * so several calls let in at once cannot all spend the same tokens.
 */
export class HostCallGate {
  private tokens: number;
  private refilledAt: number;
  private readonly waiting: Array<() => void> = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly share = HOST_CALL_SHARE,
    private readonly burstMs = HOST_CALL_BURST_MS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burstMs;
    this.refilledAt = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burstMs, this.tokens + (t - this.refilledAt) * this.share);
    this.refilledAt = t;
  }

  /** Resolves at once (undefined) when the bucket has time left, else a promise of a turn. */
  admit(): Promise<void> | undefined {
    this.refill();
    if (this.waiting.length === 0 && this.tokens > 0) {
      this.tokens -= ESTIMATE_MS;
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
    });
  }

  /**
   * Records that a call let in took `ms` of host-thread time. The debt is
   * floored at one burst: that time is spent already, and a deeper debt (one
   * call whose block-table copy took 500 ms, or other work that ran before the
   * check phase and was counted) would only hold every other worker plugin's
   * host calls back for four times as long.
   */
  settle(ms: number): void {
    this.refill();
    this.tokens = Math.max(-this.burstMs, this.tokens + ESTIMATE_MS - Math.max(0, ms));
  }

  /** How many calls wait for a turn (for tests and metrics). */
  get queued(): number {
    return this.waiting.length;
  }

  private schedule(): void {
    if (this.timer !== null) return;
    const wait = this.tokens > 0 ? 0 : Math.ceil(-this.tokens / this.share);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refill();
      if (this.tokens > 0) {
        this.tokens -= ESTIMATE_MS;
        this.waiting.shift()?.();
      }
      if (this.waiting.length > 0) this.schedule();
    }, wait);
  }
}

/** The host thread's one gate: every worker plugin shares the same loop. */
export const hostCallGate: HostCallGate = new HostCallGate();
