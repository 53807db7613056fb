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

  /**
   * Resolves at once (undefined) when the bucket has time left, else a promise of a turn. A
   * waiter whose `abandon()` settles first leaves the queue (its promise never resolves): a turn
   * handed to a call that gave up would spend the bucket's estimate for nobody. `abandon` is
   * called only when the caller has to wait (what it sets up, a timer, costs nothing otherwise).
   */
  admit(abandon?: () => Promise<unknown>): Promise<void> | undefined {
    this.refill();
    if (this.waiting.length === 0 && this.tokens > 0) {
      this.tokens -= ESTIMATE_MS;
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
      const leave = () => {
        const at = this.waiting.indexOf(resolve);
        if (at >= 0) this.waiting.splice(at, 1);
      };
      void abandon?.().then(leave, leave);
    });
  }

  /**
   * Records that a call let in took `ms` of host-thread time. The debt is
   * floored at one burst: that time is spent already, and a deeper debt (one
   * call whose block-table copy took 500 ms, or other work that ran before the
   * check phase and was counted) would only hold every other worker plugin's
   * host calls back for four times as long. Returns the debt the floor let go
   * (ms), which the caller may charge to the plugin that ran up (invoke-gate.ts).
   */
  settle(ms: number): number {
    this.refill();
    return this.#floor(this.tokens + ESTIMATE_MS - Math.max(0, ms));
  }

  /** Sets the bucket to `tokens`, floored at one burst's debt; returns the debt the floor let go. */
  #floor(tokens: number): number {
    this.tokens = Math.max(-this.burstMs, tokens);
    return this.tokens - tokens;
  }

  /**
   * Records more host-thread time of a call already settled (work of its that
   * ran later, e.g. after an async host function's wait). Floored as settle is.
   */
  spend(ms: number): number {
    this.refill();
    return this.#floor(this.tokens - Math.max(0, ms));
  }

  /**
   * The host call being handed to Extism inside its turn (invoke-gate.ts), while
   * that runs synchronously: its host function's wrapper notes when it was
   * entered (what came before is Extism's copy of the blocks) and does not ask
   * for a second turn.
   */
  turn: HostCallTurn | null = null;

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

/** A host call in its turn (invoke-gate.ts). */
export interface HostCallTurn {
  /** When the host function's wrapper was entered: what came before was Extism's block copy. */
  entered: number | null;
  /** Charges debt the gate's floor let go to the plugin whose call ran it up. */
  owe(ms: number): void;
}

/** The host thread's one gate: every worker plugin shares the same loop. */
export const hostCallGate: HostCallGate = new HostCallGate();
