/**
 * Denied calls: an `audit.denied` event (who, which function, what was asked,
 * why) and the `permission_denied` answer the plugin gets.
 * @module
 */
import type { HostCall } from "../sandbox/mod.ts";
import type { Store } from "../store/mod.ts";
import { errorResult } from "./abi.ts";

/** What a denied call asked for: a key, topic, secret name, invoke target or URL; never a value. */
export type Asked = Record<string, string>;

/** Writes `audit.denied` (without waiting) for a refused request. */
export function auditDenied(
  store: Store,
  who: { pluginId: string; runId: string | null },
  fn: string,
  asked: Asked,
  reason: string,
): void {
  try {
    void store.events.append({
      type: "audit.denied",
      level: "warn",
      source: "host",
      pluginId: who.pluginId,
      runId: who.runId,
      payload: { function: fn, asked, reason },
    }).catch(() => {});
  } catch {
    // A malformed audit event is a host bug; the plugin still gets its answer.
  }
}

/** Audits the refusal and returns the `permission_denied` result for the plugin. */
export function denied(
  store: Store,
  call: HostCall,
  fn: string,
  asked: Asked,
  reason: string,
): Uint8Array {
  auditDenied(store, call, fn, asked, reason);
  return errorResult("permission_denied", `${fn}: ${reason}`);
}
