/**
 * A loaded plugin's lifecycle states and the one table of moves between
 * them. Every other move is refused, so a bug that would (say) mark a
 * stopped plugin active fails loudly instead of serving from a closed sandbox.
 * @module
 */
import { HostError } from "../errors.ts";

/** Every lifecycle state, in the order a plugin usually passes through them. */
export const pluginStates = [
  "installed",
  "loading",
  "active",
  "suspended",
  "error",
  "stopping",
  "stopped",
] as const;

/**
 * Where a plugin stands on this host: `installed` (known, not started),
 * `loading` (its onLoad hook runs), `active` (serving), `suspended` (its
 * circuit breaker is open, or an operator took it out), `error` (onLoad
 * failed), `stopping` (its onShutdown hook runs), `stopped` (disabled,
 * replaced, unloaded or the host closed).
 */
export type PluginState = (typeof pluginStates)[number];

/** The allowed moves: from each state, the states it may go to (docs/lifecycle.md). */
export const transitions: Readonly<Record<PluginState, readonly PluginState[]>> = {
  installed: ["loading", "stopping"],
  loading: ["active", "error", "stopping"],
  active: ["suspended", "stopping"],
  suspended: ["active", "stopping"],
  error: ["loading", "stopping"],
  stopping: ["stopped"],
  stopped: ["loading"],
};

/** True when `from -> to` is in the table. */
export function canMove(from: PluginState, to: PluginState): boolean {
  return transitions[from].includes(to);
}

/** Throws `conflict` naming the moves `from` allows when `from -> to` is not one of them. */
export function assertMove(pluginId: string, from: PluginState, to: PluginState): void {
  if (canMove(from, to)) return;
  throw new HostError(
    "conflict",
    `Plugin '${pluginId}' cannot go from ${from} to ${to} (from ${from} it may go to: ${
      transitions[from].join(", ")
    })`,
    { details: { from, to } },
  );
}
