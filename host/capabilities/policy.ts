/**
 * The host's ceilings on what granted host functions may use.
 * @module
 */

/** Host policy for the capability host functions; every field has a default. */
export interface CapabilityPolicy {
  /** Cap on any plugin's `permissions.kv.quotaBytes` (default 16 MiB). */
  maxKvQuotaBytes: number;
  /** Plugin-originated events per run, publishes and log lines together (default 1000); more publishes answer `rate_limited`, more lines are dropped. */
  publishPerRun: number;
  /** Log lines kept per run (default 200); the rest are dropped and counted. */
  logLinesPerRun: number;
  /**
   * `audit.denied` events per run (default 100); later denials still answer
   * `permission_denied` and are counted in one `audit.denied_dropped` event at the run's end.
   */
  deniedPerRun: number;
  /**
   * Granted `secret_get` answers per run (default 100), each a `secret.read`
   * audit event; past it `secret_get` answers `rate_limited`, so no read goes unaudited.
   */
  secretReadsPerRun: number;
  /**
   * `secret.injected` events per run (default 100): past it the host still
   * injects the secret into the plugin's requests, and one
   * `secret.injected_dropped` event at the run's end counts those not written.
   */
  injectedPerRun: number;
  /** Longest invoke chain, the first caller included (default 8). */
  maxInvokeDepth: number;
  /** HTTP: largest response body in bytes (default 4 MiB). */
  httpMaxBytes: number;
  /** HTTP: time for a whole request, name resolution, redirects and body included, in ms (default 10,000). */
  httpTimeoutMs: number;
  /** HTTP: redirects followed per request (default 5). */
  httpMaxRedirects: number;
}

/** The defaults of CapabilityPolicy. */
export const defaultCapabilityPolicy: CapabilityPolicy = {
  maxKvQuotaBytes: 16 * 1024 * 1024,
  publishPerRun: 1000,
  logLinesPerRun: 200,
  deniedPerRun: 100,
  secretReadsPerRun: 100,
  injectedPerRun: 100,
  maxInvokeDepth: 8,
  httpMaxBytes: 4 * 1024 * 1024,
  httpTimeoutMs: 10_000,
  httpMaxRedirects: 5,
};
