/**
 * Plugin log lines into the event log as `plugin.log` events, at their level.
 * @module
 */
import type { SandboxLogger } from "../sandbox/mod.ts";
import type { Store } from "../store/mod.ts";

/** A SandboxLogger that appends each line as a `plugin.log` event of the plugin. */
export function eventLogger(store: Store, pluginId: string): SandboxLogger {
  const log = (level: "debug" | "info" | "warn" | "error") => (message: string) =>
    void store.events.append({
      type: "plugin.log",
      level,
      source: `plugin:${pluginId}`,
      pluginId,
      payload: { message },
    }).catch(() => {});
  return {
    trace: log("debug"),
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
  };
}
