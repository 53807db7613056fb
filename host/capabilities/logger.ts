/**
 * A plugin's log lines (Extism's `log_*` functions) into the event log as
 * `plugin.log` events at their level, with the run id, a per-run line limit,
 * and the run's secret values redacted. A line is the plugin's text and only
 * ever becomes a `plugin.log` event with the plugin as source: the host never
 * reads meaning into it (no audit event, no error class comes from log text,
 * which the plugin controls). The one line that is not a plugin's is the
 * sandbox's `HTTP_DENIED_LINE`, carrying a nonce no plugin knows.
 * @module
 */
import { HTTP_DENIED_LINE, type SandboxLogger } from "../sandbox/mod.ts";
import { auditDenied } from "./audit.ts";
import type { CapabilityContext } from "./context.ts";
import { knownSecrets, REDACTED, redactText } from "./redact.ts";
import type { ActiveRun } from "./runs.ts";

type Level = "debug" | "info" | "warn" | "error";

/**
 * Plugin-originated events (publishes and log lines) `run` may still write:
 * both count against `policy.publishPerRun`, the per-run event budget.
 */
export function pluginEventsLeft(ctx: CapabilityContext, run: ActiveRun): number {
  return ctx.policy.publishPerRun - run.published - run.logLines;
}

/** Longest message kept, in UTF-16 code units; longer ones are cut (and end in `…`). */
export const MAX_LOG_MESSAGE = 8192;

/**
 * A plugin's log line as stored: every value of `secrets` redacted, then cut
 * to MAX_LOG_MESSAGE. Redaction comes first: a cut through a value would
 * leave its first part, which no longer matches the value, in the log. The
 * cut never splits a `[redacted]` marker (a half marker would hide that a
 * value was there) nor a surrogate pair.
 */
export function logMessage(message: string, secrets: readonly string[]): string {
  const clean = redactText(message, secrets);
  if (clean.length <= MAX_LOG_MESSAGE) return clean;
  let cut = MAX_LOG_MESSAGE;
  const marker = clean.lastIndexOf(REDACTED, cut - 1);
  if (marker >= 0 && marker + REDACTED.length > cut) cut = marker;
  const last = clean.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return clean.slice(0, cut) + "…";
}

/**
 * The logger of one plugin. Extism does not say which call a line belongs
 * to: with one call of the plugin in progress (main mode always) it is that
 * run's; with several, the line has no run id and counts against each.
 */
export function runLogger(ctx: CapabilityContext, pluginId: string): SandboxLogger {
  let outside = 0;
  const write = (level: Level) => (message: string) => {
    const runs = ctx.runs.runsOf(pluginId);
    if (message === HTTP_DENIED_LINE) {
      // The sandbox's own report of a refused kernel http_request (its nonce is unknown to
      // plugins): audited as the host's finding, never stored as text.
      auditDenied(
        ctx,
        { pluginId, runId: runs.length === 1 ? runs[0]!.runId : null },
        "http_request",
        {},
        "the manifest does not grant permissions.http",
      );
      return;
    }
    if (runs.length === 0) {
      // Lines from start code, outside any call.
      if (outside++ >= ctx.policy.logLinesPerRun) return;
    } else {
      const fits = (r: ActiveRun) =>
        r.logLines < ctx.policy.logLinesPerRun && pluginEventsLeft(ctx, r) > 0;
      const open = runs.filter(fits);
      for (const run of runs) {
        if (fits(run)) run.logLines++;
        else run.logDropped++;
      }
      if (open.length === 0) return;
    }
    const text = logMessage(message, knownSecrets(ctx, pluginId, runs));
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
