/**
 * A plugin's log lines (Extism's `log_*` functions) into the event log as
 * `plugin.log` events at their level, with the run id, a per-run line limit,
 * and the run's secret values redacted.
 * @module
 */
import type { SandboxLogger } from "../sandbox/mod.ts";
import type { CapabilityContext } from "./context.ts";
import { auditDenied } from "./audit.ts";
import { redact } from "./runs.ts";

type Level = "debug" | "info" | "warn" | "error";

/** What Extism logs when a plugin without allowed hosts calls http_request. */
const HTTP_NOT_ENABLED = "http_request is not enabled";

/** Longest message kept, in characters; longer ones are cut. */
const MAX_MESSAGE = 8192;

/**
 * The logger of one plugin. Extism does not say which call a line belongs
 * to: with one call of the plugin in progress (main mode always) it is that
 * run's; with several, the line has no run id and counts against each.
 */
export function runLogger(ctx: CapabilityContext, pluginId: string): SandboxLogger {
  let outside = 0;
  const write = (level: Level) => (message: string) => {
    const runs = ctx.runs.runsOf(pluginId);
    if (level === "error" && message === HTTP_NOT_ENABLED) {
      // Extism's kernel answers http_request itself for a plugin without allowed hosts
      // (handle 0, status 0) and says so only in this log line.
      auditDenied(
        ctx.store,
        { pluginId, runId: runs.length === 1 ? runs[0]!.runId : null },
        "http_request",
        {},
        "the manifest does not grant permissions.http",
      );
    }
    if (runs.length === 0) {
      // Lines from start code, outside any call.
      if (outside++ >= ctx.policy.logLinesPerRun) return;
    } else {
      const open = runs.filter((r) => r.logLines < ctx.policy.logLinesPerRun);
      for (const run of runs) {
        if (run.logLines < ctx.policy.logLinesPerRun) run.logLines++;
        else run.logDropped++;
      }
      if (open.length === 0) return;
    }
    const text = redact(
      message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE) + "…" : message,
      runs,
    );
    try {
      void ctx.store.events.append({
        type: "plugin.log",
        level,
        source: `plugin:${pluginId}`,
        pluginId,
        runId: runs.length === 1 ? runs[0]!.runId : null,
        payload: { message: text },
      }).catch(() => {});
    } catch {
      // A line the store refuses is dropped; logging never fails a call.
    }
  };
  return {
    trace: write("debug"),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
  };
}
