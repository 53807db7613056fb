/**
 * Starting a plugin worker holds the host's thread while the runtime sets the
 * worker up: 5-8 ms on Node, 90-150 ms on Deno (hostile.bench.ts figure
 * "worker start"; see docs/sandbox.md). A plugin whose every call ends its
 * worker (a timeout or a memory_limit terminates it; a strict call that grew
 * the memory retires it) would have the host start workers back to back:
 * with 8 hostile plugins on Deno, 56 restarts in a 10 s attack. This gate
 * lets worker restarts (not a plugin's first workers) through at a bounded
 * rate shared by all plugins, in arrival order. A call waiting for a
 * restarted worker waits here with its pool slot held, so the plugin's other
 * calls queue behind it (and get `busy` past the queue); the wait is not
 * counted against the call's timeout, which starts once it has an instance.
 * @module
 */

/** Worker restarts per second, host-wide, once the burst is spent. */
export const RESTARTS_PER_SECOND = 1;
/** Restarts a quiet host lets through at once. */
export const RESTART_BURST = 4;

/** What the pool needs: a turn to start a replacement worker. */
export interface Gate {
  /** Undefined when a restart may start now, else a promise of a turn. */
  admit(): Promise<void> | undefined;
}

/** A token bucket of restarts with a FIFO of waiting ones. */
export class RestartGate implements Gate {
  private tokens: number;
  private refilledAt: number;
  private readonly waiting: Array<() => void> = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly perSecond = RESTARTS_PER_SECOND,
    private readonly burst = RESTART_BURST,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.refilledAt = now();
  }

  admit(): Promise<void> | undefined {
    this.refill();
    if (this.waiting.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
    });
  }

  /** How many restarts wait for a turn (for tests and metrics). */
  get queued(): number {
    return this.waiting.length;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((t - this.refilledAt) * this.perSecond) / 1000,
    );
    this.refilledAt = t;
  }

  private schedule(): void {
    if (this.timer !== null) return;
    const wait = Math.max(0, Math.ceil(((1 - this.tokens) * 1000) / this.perSecond));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        this.waiting.shift()?.();
      }
      if (this.waiting.length > 0) this.schedule();
    }, wait);
  }
}

/** The host's one gate: every plugin's worker restarts hold the same thread. */
export const restartGate: RestartGate = new RestartGate();
