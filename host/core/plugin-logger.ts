/**
 * Plugin log lines into the event log as `plugin.log` events, at their level:
 * the logger of a runtime without the capability host functions (which bring
 * their own, with per-run limits). Lines are the plugin's text: they never
 * become anything but `plugin.log` with the plugin as source, and a plugin
 * may write at most `linesPerSecond` of them a second; the rest are dropped
 * and counted in one `plugin.log_dropped` event per second that dropped some.
 * @module
 */
import { HTTP_DENIED_LINE, type SandboxLogger } from "../sandbox/mod.ts";
import type { Store } from "../store/mod.ts";

/** A SandboxLogger that appends each line as a `plugin.log` event of the plugin. */
export function eventLogger(store: Store, pluginId: string, linesPerSecond = 200): SandboxLogger {
  let windowStart = 0;
  let written = 0;
  let dropped = 0;
  const report = () => {
    if (dropped === 0) return;
    void store.events.append({
      type: "plugin.log_dropped",
      level: "warn",
      source: "host",
      pluginId,
      payload: { dropped, limit: linesPerSecond, per: "second" },
    }).catch(() => {});
    dropped = 0;
  };
  const log = (level: "debug" | "info" | "warn" | "error") => (message: string) => {
    // The sandbox's report of a refused http_request: its nonce must never reach the log.
    if (message === HTTP_DENIED_LINE) return;
    const now = Date.now();
    if (now - windowStart >= 1000) {
      report();
      windowStart = now;
      written = 0;
    }
    if (written >= linesPerSecond) {
      if (dropped++ === 0) {
        // Report at the window's end even if the plugin writes nothing more.
        const timer = setTimeout(report, windowStart + 1000 - now);
        (timer as { unref?: () => void }).unref?.();
      }
      return;
    }
    written++;
    try {
      void store.events.append({
        type: "plugin.log",
        level,
        source: `plugin:${pluginId}`,
        pluginId,
        payload: { message: message.length > 8192 ? message.slice(0, 8192) + "…" : message },
      }).catch(() => {});
    } catch {
      // A line the store refuses is dropped; logging never fails a call.
    }
  };
  return {
    trace: log("debug"),
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
  };
}
