/**
 * Denied calls: an `audit.denied` event (who, which function, what was asked,
 * why) and the `permission_denied` answer the plugin gets. Each run may write
 * at most `policy.deniedPerRun` of these events; past it a denial still
 * answers `permission_denied` but is only counted, and the run's end writes one
 * `audit.denied_dropped` event with the count (provider.ts). Denials outside
 * any run are capped the same way per plugin.
 * @module
 */
import type { HostCall } from "../sandbox/mod.ts";
import { errorResult } from "./abi.ts";
import type { CapabilityContext } from "./context.ts";
import { knownSecrets, redactText } from "./redact.ts";
import { type ActiveRun, spendBudget } from "./runs.ts";

/** What a denied call asked for: a key, topic, secret name, invoke target or URL; never a value. */
export type Asked = Record<string, string>;

/**
 * Writes `audit.denied` (without waiting) for a refused request, within the
 * run's denial budget. `who.runId` null means the host cannot tell which call
 * it served: it counts against every run of the plugin in progress (written
 * while one of them has room), or the plugin's budget outside runs when none is.
 */
export function auditDenied(
  ctx: CapabilityContext,
  who: { pluginId: string; runId: string | null },
  fn: string,
  asked: Asked,
  reason: string,
): void {
  const run = who.runId === null ? undefined : ctx.runs.get(who.runId);
  // Past the run's budget nothing more is written, so nothing more is remembered: a plugin
  // looping denials with distinct keys cannot grow the run's map beyond the budget (nor by
  // more than a cut key's length per entry).
  if (
    run && run.deniedAudited < ctx.policy.deniedPerRun &&
    !firstTime(run, fn, cutAsked(asked), cut(reason, MAX_REASON))
  ) {
    return;
  }
  if (!withinBudget(ctx, who)) return;
  // What was asked is the plugin's text (a key, a topic, a URL's host): it may carry a secret.
  const secrets = knownSecrets(
    ctx,
    who.pluginId,
    run ? [run] : who.runId === null ? ctx.runs.runsOf(who.pluginId) : [],
  );
  const clean = (text: string) => redactText(text, secrets);
  try {
    void ctx.store.events.append({
      type: "audit.denied",
      level: "warn",
      source: "host",
      pluginId: who.pluginId,
      runId: who.runId,
      // Redacted first, then cut: a cut through a secret would leave part of it unrecognized.
      payload: {
        function: fn,
        asked: cutAsked(
          Object.fromEntries(Object.entries(asked).map(([k, v]) => [k, clean(v)])),
        ),
        reason: cut(clean(reason), MAX_REASON),
      },
    }).catch(() => {});
  } catch {
    // A malformed audit event is a host bug; the plugin still gets its answer.
  }
}

/**
 * Longest text of what was asked (per field) and of the reason, in UTF-16
 * code units, kept in an `audit.denied` event. What was asked is the
 * plugin's (a key of up to the request size): uncut, a 2 MiB key made an
 * event past the store's payload limit, which was then not written at all.
 */
export const MAX_ASKED = 256;
const MAX_REASON = 1024;

/** `text` cut to `max` code units, ending in "…" when cut. */
function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function cutAsked(asked: Asked): Asked {
  return Object.fromEntries(Object.entries(asked).map(([k, v]) => [k, cut(v, MAX_ASKED)]));
}

/**
 * False for a denial an earlier attempt of the same run already accounted for
 * (the n-th same denial of this attempt, when earlier attempts had n or more).
 */
function firstTime(run: ActiveRun, fn: string, asked: Asked, reason: string): boolean {
  const key = JSON.stringify([fn, asked, reason]);
  const met = (run.denialsThisAttempt.get(key) ?? 0) + 1;
  run.denialsThisAttempt.set(key, met);
  const accounted = run.denialsAccounted.get(key) ?? 0;
  if (met <= accounted) return false;
  run.denialsAccounted.set(key, met);
  return true;
}

/** Counts one denial; true when its event is to be written. */
function withinBudget(
  ctx: CapabilityContext,
  who: { pluginId: string; runId: string | null },
): boolean {
  const limit = ctx.policy.deniedPerRun;
  const tracked = who.runId === null ? undefined : ctx.runs.get(who.runId);
  const runs = tracked ? [tracked] : who.runId === null ? ctx.runs.runsOf(who.pluginId) : [];
  if (runs.length === 0) {
    const outside = ctx.runs.outsideDenials(who.pluginId);
    if (outside.audited < limit) {
      outside.audited++;
      return true;
    }
    if (outside.dropped++ === 0) droppedOutside(ctx, who.pluginId, limit);
    return false;
  }
  return spendBudget(runs, "denied", limit);
}

/**
 * Outside any run there is no end to report a count at: the first denial
 * past the budget writes one `audit.denied_dropped` saying later ones of this
 * plugin (until the host restarts) are not recorded.
 */
function droppedOutside(ctx: CapabilityContext, pluginId: string, limit: number): void {
  try {
    void ctx.store.events.append({
      type: "audit.denied_dropped",
      level: "warn",
      source: "host",
      pluginId,
      runId: null,
      payload: { limit, outsideRun: true },
    }).catch(() => {});
  } catch {
    // As above: never fails the plugin's call.
  }
}

/** Audits the refusal (within the run's budget) and returns the `permission_denied` result. */
export function denied(
  ctx: CapabilityContext,
  call: HostCall,
  fn: string,
  asked: Asked,
  reason: string,
): Uint8Array {
  auditDenied(ctx, call, fn, asked, reason);
  return errorResult("permission_denied", `${fn}: ${reason}`);
}
