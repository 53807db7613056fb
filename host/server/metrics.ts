/**
 * Counters and histograms for `GET /metrics`, in the Prometheus text format
 * (version 0.0.4): capability calls, errors by class, latency, fuel, calls in
 * flight and the store writer's queue, per plugin. Kept in memory, cheap to update.
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

interface CallStats {
  calls: number;
  errors: Map<string, number>;
  fuel: number;
  buckets: number[];
  sum: number;
  inflight: number;
}

/** Gauges read at scrape time. */
export interface MetricsGauges {
  pluginsLoaded(): number;
  writerQueue(): number;
  writerFailed(): number;
}

/** The server's metrics. */
export class Metrics {
  readonly #calls = new Map<string, CallStats>();
  readonly #responses = new Map<number, number>();

  /** Counts an HTTP response by status. */
  response(status: number): void {
    this.#responses.set(status, (this.#responses.get(status) ?? 0) + 1);
  }

  /** A capability call started on `pluginId`. */
  callStarted(pluginId: string): void {
    this.#stats(pluginId).inflight++;
  }

  /** A capability call ended: its duration, fuel and error class (undefined when ok). */
  callEnded(pluginId: string, seconds: number, fuel: number, errorClass: string | undefined): void {
    const s = this.#stats(pluginId);
    s.inflight--;
    s.calls++;
    s.fuel += fuel;
    s.sum += seconds;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (seconds <= LATENCY_BUCKETS[i]!) s.buckets[i]!++;
    }
    if (errorClass !== undefined) s.errors.set(errorClass, (s.errors.get(errorClass) ?? 0) + 1);
  }

  /** The Prometheus text exposition. */
  render(gauges: MetricsGauges): string {
    const out: string[] = [];
    const head = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const plugins = [...this.#calls.entries()].sort(([a], [b]) => a.localeCompare(b));

    head("plughost_calls_total", "counter", "Capability calls that ended, by plugin");
    for (const [id, s] of plugins) out.push(`plughost_calls_total{plugin="${esc(id)}"} ${s.calls}`);
    head("plughost_call_errors_total", "counter", "Capability calls that failed, by class");
    for (const [id, s] of plugins) {
      for (const [cls, n] of [...s.errors].sort()) {
        out.push(`plughost_call_errors_total{plugin="${esc(id)}",class="${esc(cls)}"} ${n}`);
      }
    }
    head("plughost_call_duration_seconds", "histogram", "Capability call latency in the host");
    for (const [id, s] of plugins) {
      const p = `plugin="${esc(id)}"`;
      LATENCY_BUCKETS.forEach((le, i) =>
        out.push(`plughost_call_duration_seconds_bucket{${p},le="${le}"} ${s.buckets[i]}`)
      );
      out.push(`plughost_call_duration_seconds_bucket{${p},le="+Inf"} ${s.calls}`);
      out.push(`plughost_call_duration_seconds_sum{${p}} ${s.sum}`);
      out.push(`plughost_call_duration_seconds_count{${p}} ${s.calls}`);
    }
    head("plughost_call_fuel_total", "counter", "Fuel used by capability calls");
    for (const [id, s] of plugins) {
      out.push(`plughost_call_fuel_total{plugin="${esc(id)}"} ${s.fuel}`);
    }
    head("plughost_calls_in_flight", "gauge", "Capability calls in progress");
    for (const [id, s] of plugins) {
      out.push(`plughost_calls_in_flight{plugin="${esc(id)}"} ${s.inflight}`);
    }
    head("plughost_http_responses_total", "counter", "HTTP responses by status");
    for (const [status, n] of [...this.#responses].sort((a, b) => a[0] - b[0])) {
      out.push(`plughost_http_responses_total{status="${status}"} ${n}`);
    }
    head("plughost_plugins_loaded", "gauge", "Plugins loaded");
    out.push(`plughost_plugins_loaded ${gauges.pluginsLoaded()}`);
    head("plughost_store_queue_depth", "gauge", "Writes waiting in the store's batching writer");
    out.push(`plughost_store_queue_depth ${gauges.writerQueue()}`);
    head("plughost_store_write_failures_total", "counter", "Store writes that failed finally");
    out.push(`plughost_store_write_failures_total ${gauges.writerFailed()}`);
    return out.join("\n") + "\n";
  }

  #stats(pluginId: string): CallStats {
    let s = this.#calls.get(pluginId);
    if (!s) {
      s = {
        calls: 0,
        errors: new Map(),
        fuel: 0,
        buckets: LATENCY_BUCKETS.map(() => 0),
        sum: 0,
        inflight: 0,
      };
      this.#calls.set(pluginId, s);
    }
    return s;
  }
}

function esc(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}
