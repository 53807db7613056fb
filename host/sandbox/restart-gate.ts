/**
 * Starting a plugin worker holds the host's thread while the runtime sets the
 * worker up: 5-8 ms on Node, 90-150 ms on Deno (hostile.bench.ts figure
 * "worker start"; see docs/sandbox.md). A plugin whose every call ends its
 * worker (a timeout or a memory_limit terminates it; a strict call that grew
 * the memory of a module the reset cannot size retires it) would have the
 * host start workers back to back:
 * with 8 hostile plugins on Deno, 56 restarts in a 10 s attack. This gate
 * lets worker restarts (not a plugin's first workers) through at a bounded
 * rate shared by all plugins. When restarts wait, the next turn goes to the
 * plugin that restarted least lately (a count that halves every
 * SCORE_HALF_LIFE_MS), in arrival order among equals: plugins that restart
 * call after call cannot keep one that restarts now and then waiting behind
 * them (in plain arrival order it waited for every restart queued before
 * it, up to the gate's whole queue, seconds each). A call waiting for a
 * restarted worker waits here with its pool slot held, so the plugin's other
 * calls queue behind it (and get `busy` past the queue); the wait is not
 * counted against the call's timeout, which starts once it has an instance.
 *
 * A restart pays for what it cost the host's thread: the pool measures the
 * longest stall of each restart (`held`), and one that held the thread longer
 * than RESTART_LOOP_SHARE of a token's second takes the tokens that stall is
 * worth, at most RESTART_BURST more than the one it was admitted with. On Node
 * (a start holds the thread ~2 ms) that is nothing more; on Deno (27-80 ms
 * inside its worker constructor) two to four more, so restarts there come
 * every few seconds and a well-behaved call lands on fewer stalls. Tokens may
 * go below zero: the debt delays the next turn. The restarting plugin's count
 * of recent restarts grows by the same weight, so it also waits behind
 * plugins that restart cheaply.
 * @module
 */

/** Worker restarts per second, host-wide, once the burst is spent. */
export const RESTARTS_PER_SECOND = 1;
/** Restarts a quiet host lets through at once. */
export const RESTART_BURST = 4;

/** The share of the host's thread that worker starts may hold, over time. */
export const RESTART_LOOP_SHARE = 0.01;

/** How fast a plugin's count of recent restarts decays: it halves in this time. */
export const SCORE_HALF_LIFE_MS = 10_000;

/** What the pool needs: a turn to start a replacement worker. */
export interface Gate {
  /**
   * Undefined when a restart may start now, else a promise of a turn.
   * `who` names the plugin asking (its pool): turns are shared out by it.
   */
  admit(who?: object): Promise<void> | undefined;
  /** How long a restart `admit` let through held the host's thread (its longest stall, ms). */
  held?(ms: number, who?: object): void;
}

interface Waiter {
  who: object;
  seq: number;
  resolve: () => void;
}

/** A plugin's recent restarts: `value` as of `at`, decaying by half every SCORE_HALF_LIFE_MS. */
interface Score {
  value: number;
  at: number;
}

const ANONYMOUS = {};

/** A token bucket of restarts; waiting ones get turns by fewest recent restarts, then arrival. */
export class RestartGate implements Gate {
  private tokens: number;
  private refilledAt: number;
  private readonly waiting: Waiter[] = [];
  private readonly scores = new WeakMap<object, Score>();
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly perSecond = RESTARTS_PER_SECOND,
    private readonly burst = RESTART_BURST,
    private readonly now: () => number = () => performance.now(),
    private readonly loopShare = RESTART_LOOP_SHARE,
  ) {
    this.tokens = burst;
    this.refilledAt = now();
  }

  admit(who: object = ANONYMOUS): Promise<void> | undefined {
    this.refill();
    if (this.waiting.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      this.count(who);
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.waiting.push({ who, seq: this.seq++, resolve });
      this.schedule();
    });
  }

  held(ms: number, who: object = ANONYMOUS): void {
    const extra = this.extraFor(ms);
    if (extra === 0) return;
    this.refill();
    this.tokens -= extra;
    this.count(who, extra);
  }

  /**
   * Tokens a restart that held the thread `ms` owes beyond the one it was
   * admitted with: its stall at RESTART_LOOP_SHARE of the thread, at most a
   * burst more (a start code that spins on the host's thread, bounded by one
   * slice of fuel, cannot stop every plugin's restarts for long).
   */
  extraFor(ms: number): number {
    if (!(ms > 0)) return 0;
    const worth = (ms * this.perSecond) / (1000 * this.loopShare);
    return Math.min(this.burst, Math.max(0, worth - 1));
  }

  /** How many restarts wait for a turn (for tests and metrics). */
  get queued(): number {
    return this.waiting.length;
  }

  /** A plugin's recent restarts, decayed to now (0 for one never seen or long quiet). */
  recent(who: object): number {
    const score = this.scores.get(who);
    if (score === undefined) return 0;
    return score.value * 2 ** (-(this.now() - score.at) / SCORE_HALF_LIFE_MS);
  }

  private count(who: object, weight = 1): void {
    this.scores.set(who, { value: this.recent(who) + weight, at: this.now() });
  }

  /** Takes the waiter whose plugin restarted least lately; the earliest among equals. */
  private next(): Waiter | undefined {
    let best = -1;
    let bestScore = Infinity;
    this.waiting.forEach((waiter, i) => {
      const score = this.recent(waiter.who);
      if (score < bestScore) {
        best = i;
        bestScore = score;
      }
    });
    return best < 0 ? undefined : this.waiting.splice(best, 1)[0];
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
        const waiter = this.next();
        if (waiter !== undefined) {
          this.tokens -= 1;
          this.count(waiter.who);
          waiter.resolve();
        }
      }
      if (this.waiting.length > 0) this.schedule();
    }, wait);
  }
}

/** The host's one gate: every plugin's worker restarts hold the same thread. */
export const restartGate: RestartGate = new RestartGate();
