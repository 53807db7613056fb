/**
 * A per-plugin circuit breaker, pure and clock-driven: it counts how runs
 * end and says whether the next call may run. Consecutive failures, or an
 * error rate over a sliding window, open it; after a cool-down one probe call
 * is let through (half-open); a probe that succeeds closes it, one that fails
 * opens it again with the cool-down doubled (at most 16 times the first).
 * The window is counted in a fixed ring of buckets (1/64 of the window each),
 * so recording a run is O(1) in time and memory however busy the plugin is.
 * @module
 */

/** How a plugin recovers once its breaker opened (manifest `limits.breaker.recovery`). */
export type Recovery = "retry" | "restart" | "disable";

/** One plugin's breaker settings, after the operator policy capped them. */
export interface BreakerPolicy {
  /** Consecutive failed runs that open the breaker. */
  failures: number;
  /** The sliding window the error rate is measured over, in ms. */
  windowMs: number;
  /** Failed runs / runs in the window at or above which it opens (0..1). */
  errorRate: number;
  /** Runs the window must hold before the error rate counts. */
  minCalls: number;
  /** Wait before the first probe, in ms (doubles after each failed probe). */
  coolDownMs: number;
  recovery: Recovery;
}

/** The breaker's own state: closed (calls run), open (refused), half_open (one probe runs). */
export type BreakerState = "closed" | "open" | "half_open";

/** What `admit` decided for one call. */
export type Admission =
  | { kind: "call" }
  | { kind: "probe" }
  /** Refused; `retryAtMs` is when a probe will be let through (none under `disable`). */
  | { kind: "refuse"; retryAtMs: number | undefined };

/** What `record` changed, if anything. */
export type BreakerChange =
  | { kind: "opened"; reason: string; probe: boolean; retryAtMs: number | undefined }
  | { kind: "closed" }
  | undefined;

/** Longest cool-down, as a multiple of the policy's. */
const MAX_BACKOFF = 16;

/** Buckets the sliding window is divided into; a run leaves it to 1/64 of `windowMs`. */
const BUCKETS = 64;

/**
 * Runs and failures per time bucket over the last `BUCKETS` buckets. A list of
 * every run (as before) cost a filter over the whole window per run: at a few
 * thousand runs a second that was most of a host call's time, and memory grew
 * with the window (up to an hour).
 */
class WindowCounts {
  readonly #width: number;
  readonly #runs = new Uint32Array(BUCKETS);
  readonly #fails = new Uint32Array(BUCKETS);
  /** The newest bucket number counted (time / width), -Infinity when empty. */
  #newest = -Infinity;
  runs = 0;
  failures = 0;

  constructor(windowMs: number) {
    this.#width = windowMs / BUCKETS;
  }

  add(at: number, failed: boolean): void {
    const bucket = Math.floor(at / this.#width);
    if (bucket > this.#newest) this.#advance(bucket);
    // A clock that stepped back past the window: the run is too old to count.
    if (bucket <= this.#newest - BUCKETS) return;
    const slot = ((bucket % BUCKETS) + BUCKETS) % BUCKETS;
    this.#runs[slot]!++;
    this.runs++;
    if (failed) {
      this.#fails[slot]!++;
      this.failures++;
    }
  }

  clear(): void {
    this.#runs.fill(0);
    this.#fails.fill(0);
    this.#newest = -Infinity;
    this.runs = this.failures = 0;
  }

  /** Empties the buckets that fall out of the window when `bucket` becomes the newest. */
  #advance(bucket: number): void {
    if (bucket - this.#newest >= BUCKETS) {
      this.clear();
    } else {
      for (let b = this.#newest + 1; b <= bucket; b++) {
        const slot = ((b % BUCKETS) + BUCKETS) % BUCKETS;
        this.runs -= this.#runs[slot]!;
        this.failures -= this.#fails[slot]!;
        this.#runs[slot] = this.#fails[slot] = 0;
      }
    }
    this.#newest = bucket;
  }
}

/** The breaker of one plugin. */
export class Breaker {
  readonly policy: BreakerPolicy;
  #state: BreakerState = "closed";
  #consecutive = 0;
  /** Runs and failures in the sliding window. */
  readonly #window: WindowCounts;
  #openedAt = 0;
  #coolDownMs: number;
  #trips = 0;

  constructor(policy: BreakerPolicy) {
    this.policy = policy;
    this.#coolDownMs = policy.coolDownMs;
    this.#window = new WindowCounts(policy.windowMs);
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Times it opened since the host loaded the plugin. */
  get trips(): number {
    return this.#trips;
  }

  /** When a probe will be let through (open), else undefined; never under `disable`. */
  retryAt(): number | undefined {
    if (this.#state !== "open" || this.policy.recovery === "disable") return undefined;
    return this.#openedAt + this.#coolDownMs;
  }

  /** Whether a call may run now: a call (closed), the probe (cool-down over), or refused. */
  admit(now: number): Admission {
    if (this.#state === "closed") return { kind: "call" };
    const retryAtMs = this.retryAt();
    if (this.#state === "open" && retryAtMs !== undefined && now >= retryAtMs) {
      this.#state = "half_open";
      return { kind: "probe" };
    }
    // Half-open: the probe is running; everyone else waits for its outcome.
    return {
      kind: "refuse",
      retryAtMs: retryAtMs ?? (this.#state === "half_open" ? now : undefined),
    };
  }

  /** Counts a run's outcome; a probe's outcome closes or reopens the breaker. */
  record(now: number, failed: boolean, probe: boolean): BreakerChange {
    if (probe) {
      if (!failed) {
        this.close();
        return { kind: "closed" };
      }
      this.#coolDownMs = Math.min(this.#coolDownMs * 2, this.policy.coolDownMs * MAX_BACKOFF);
      return this.#open(now, "the probe call failed", true);
    }
    if (this.#state !== "closed") return undefined; // a call admitted before it opened
    this.#consecutive = failed ? this.#consecutive + 1 : 0;
    this.#window.add(now, failed);
    if (this.#consecutive >= this.policy.failures) {
      return this.#open(now, `${this.#consecutive} consecutive failed runs`, false);
    }
    const { runs, failures } = this.#window;
    if (runs >= this.policy.minCalls && failures / runs >= this.policy.errorRate) {
      return this.#open(
        now,
        `${failures} of ${runs} runs failed in ${this.policy.windowMs} ms`,
        false,
      );
    }
    return undefined;
  }

  /** A probe that never ran (refused before its run began): the next call may probe. */
  release(): void {
    if (this.#state === "half_open") this.#state = "open";
  }

  /** Closes it (a successful probe, or an operator's resume) and forgets the history. */
  close(): void {
    this.#state = "closed";
    this.#consecutive = 0;
    this.#window.clear();
    this.#coolDownMs = this.policy.coolDownMs;
  }

  /** Opens it now (an operator's suspend, or a trip). */
  #open(now: number, reason: string, probe: boolean): BreakerChange {
    this.#state = "open";
    this.#openedAt = now;
    this.#trips++;
    this.#consecutive = 0;
    this.#window.clear();
    return { kind: "opened", reason, probe, retryAtMs: this.retryAt() };
  }
}
