/**
 * Counters of every run, whatever started it, labelled by plugin, capability
 * and trigger: runs ended, errors by code, latency, fuel and runs in flight.
 * `invoke` updates them; `GET /metrics` renders them (host/server/metrics.ts).
 * Kept in memory and cheap to update: one map lookup per run.
 * @module
 */

/** Latency buckets in seconds (upper bounds). */
export const LATENCY_BUCKETS = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
] as const;

/** What a series is labelled by. */
export interface RunLabels {
  plugin: string;
  /** The capability, or the export a `host call` named directly. */
  capability: string;
  trigger: string;
}

/** One series' figures. */
export interface RunStats {
  labels: RunLabels;
  /** Runs that ended. */
  runs: number;
  /** Runs that failed, by error code. */
  errors: Map<string, number>;
  fuel: number;
  /** Cumulative counts per LATENCY_BUCKETS bound. */
  buckets: number[];
  /** Sum of latencies in seconds. */
  seconds: number;
  inflight: number;
}

/** The run counters of one host. */
export class RunMetrics {
  readonly #series = new Map<string, RunStats>();

  /** A run started; returns the series to pass to `ended`. */
  started(labels: RunLabels): RunStats {
    const key = `${labels.plugin}\u0000${labels.capability}\u0000${labels.trigger}`;
    let s = this.#series.get(key);
    if (!s) {
      s = {
        labels,
        runs: 0,
        errors: new Map(),
        fuel: 0,
        buckets: LATENCY_BUCKETS.map(() => 0),
        seconds: 0,
        inflight: 0,
      };
      this.#series.set(key, s);
    }
    s.inflight++;
    return s;
  }

  /** A run ended: its latency in seconds, fuel and error code (undefined when ok). */
  ended(s: RunStats, seconds: number, fuel: number, errorCode: string | undefined): void {
    s.inflight--;
    s.runs++;
    s.fuel += fuel;
    s.seconds += seconds;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (seconds <= LATENCY_BUCKETS[i]!) s.buckets[i]!++;
    }
    if (errorCode !== undefined) s.errors.set(errorCode, (s.errors.get(errorCode) ?? 0) + 1);
  }

  /** Every series, sorted by plugin, capability, trigger. */
  series(): RunStats[] {
    return [...this.#series.values()].sort((a, b) =>
      a.labels.plugin.localeCompare(b.labels.plugin) ||
      a.labels.capability.localeCompare(b.labels.capability) ||
      a.labels.trigger.localeCompare(b.labels.trigger)
    );
  }
}
