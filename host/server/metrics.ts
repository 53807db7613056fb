/**
 * `GET /metrics` in the Prometheus text format (version 0.0.4): every run,
 * whatever started it, by plugin, capability and trigger (the core's
 * RunMetrics, updated by its one invoke), HTTP responses by status, and the
 * store writer's queue. Kept in memory, cheap to update.
 * @module
 */
import { LATENCY_BUCKETS, RunMetrics } from "../core/mod.ts";

export { LATENCY_BUCKETS };

/** Gauges read at scrape time. */
export interface MetricsGauges {
  pluginsLoaded(): number;
  /** Loaded plugins per lifecycle state (every state, 0 when none). */
  pluginStates?(): Record<string, number>;
  writerQueue(): number;
  writerFailed(): number;
}

/** Event delivery per subscriber, read from the store at scrape time (docs/delivery.md). */
export interface DeliveryMetrics {
  /** The newest event's cursor. */
  head: number;
  subscribers: readonly {
    pluginId: string;
    cursor: number;
    delivered: number;
    failures: number;
    deadLettered: number;
    expired: number;
  }[];
}

/** The server's metrics: the host's run counters plus HTTP responses. */
export class Metrics {
  /** The host's run counters (shared with the core, which updates them). */
  readonly runs: RunMetrics;
  readonly #responses = new Map<number, number>();

  constructor(runs: RunMetrics = new RunMetrics()) {
    this.runs = runs;
  }

  /** Counts an HTTP response by status. */
  response(status: number): void {
    this.#responses.set(status, (this.#responses.get(status) ?? 0) + 1);
  }

  /** The Prometheus text exposition. */
  render(gauges: MetricsGauges, delivery?: DeliveryMetrics): string {
    const out: string[] = [];
    const head = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const series = this.runs.series().map((s) => ({
      s,
      l: `plugin="${esc(s.labels.plugin)}",capability="${esc(s.labels.capability)}",trigger="${
        esc(s.labels.trigger)
      }"`,
    }));

    head("plughost_calls_total", "counter", "Runs that ended, by plugin, capability and trigger");
    for (const { s, l } of series) out.push(`plughost_calls_total{${l}} ${s.runs}`);
    head("plughost_call_errors_total", "counter", "Runs that failed, by error code (class)");
    for (const { s, l } of series) {
      for (const [cls, n] of [...s.errors].sort()) {
        out.push(`plughost_call_errors_total{${l},class="${esc(cls)}"} ${n}`);
      }
    }
    head("plughost_call_duration_seconds", "histogram", "Run latency in the host");
    for (const { s, l } of series) {
      LATENCY_BUCKETS.forEach((le, i) =>
        out.push(`plughost_call_duration_seconds_bucket{${l},le="${le}"} ${s.buckets[i]}`)
      );
      out.push(`plughost_call_duration_seconds_bucket{${l},le="+Inf"} ${s.runs}`);
      out.push(`plughost_call_duration_seconds_sum{${l}} ${s.seconds}`);
      out.push(`plughost_call_duration_seconds_count{${l}} ${s.runs}`);
    }
    head("plughost_call_fuel_total", "counter", "Fuel used by runs");
    for (const { s, l } of series) out.push(`plughost_call_fuel_total{${l}} ${s.fuel}`);
    head("plughost_calls_in_flight", "gauge", "Runs in progress");
    for (const { s, l } of series) out.push(`plughost_calls_in_flight{${l}} ${s.inflight}`);
    head("plughost_http_responses_total", "counter", "HTTP responses by status");
    for (const [status, n] of [...this.#responses].sort((a, b) => a[0] - b[0])) {
      out.push(`plughost_http_responses_total{status="${status}"} ${n}`);
    }
    head("plughost_plugins_loaded", "gauge", "Plugins loaded");
    out.push(`plughost_plugins_loaded ${gauges.pluginsLoaded()}`);
    const states = gauges.pluginStates?.();
    if (states) {
      head("plughost_plugins_state", "gauge", "Loaded plugins per lifecycle state");
      for (const [state, n] of Object.entries(states)) {
        out.push(`plughost_plugins_state{state="${esc(state)}"} ${n}`);
      }
    }
    head("plughost_store_queue_depth", "gauge", "Writes waiting in the store's batching writer");
    out.push(`plughost_store_queue_depth ${gauges.writerQueue()}`);
    head("plughost_store_write_failures_total", "counter", "Store writes that failed finally");
    out.push(`plughost_store_write_failures_total ${gauges.writerFailed()}`);
    if (delivery) {
      const subs = delivery.subscribers.map((d) => ({ d, l: `plugin="${esc(d.pluginId)}"` }));
      head(
        "plughost_event_delivery_lag",
        "gauge",
        "Events in the log after the subscriber's cursor (what it has yet to look at)",
      );
      for (const { d, l } of subs) {
        out.push(`plughost_event_delivery_lag{${l}} ${Math.max(0, delivery.head - d.cursor)}`);
      }
      head("plughost_event_deliveries_total", "counter", "Event deliveries by outcome");
      for (const { d, l } of subs) {
        out.push(`plughost_event_deliveries_total{${l},outcome="ok"} ${d.delivered}`);
        out.push(`plughost_event_deliveries_total{${l},outcome="failed"} ${d.failures}`);
      }
      head(
        "plughost_event_dead_letters_total",
        "counter",
        "Events given up on after every attempt",
      );
      for (const { d, l } of subs) {
        out.push(`plughost_event_dead_letters_total{${l}} ${d.deadLettered}`);
      }
      head("plughost_event_expired_total", "counter", "Events skipped because their TTL passed");
      for (const { d, l } of subs) out.push(`plughost_event_expired_total{${l}} ${d.expired}`);
    }
    return out.join("\n") + "\n";
  }
}

function esc(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}
