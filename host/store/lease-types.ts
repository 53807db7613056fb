/**
 * What the lease repository and its batch builder share: an occurrence, a
 * claim's outcome and a lease row.
 * @module
 */

/** One occurrence of one schedule. */
export interface OccurrenceKey {
  scheduleId: string;
  /** Planned time, ms since the epoch. */
  occurrence: number;
}

/** What a claim got. */
export type ClaimResult =
  /** This host runs it; `previousHolder` is set on a takeover. */
  | { kind: "claimed"; attempts: number; previousHolder: string | null }
  /** Another host has it, or it was handled already. */
  | { kind: "taken" }
  /** An earlier occurrence of the schedule is still running (on some host): recorded as skipped. */
  | { kind: "skipped"; runningOccurrence: number; runId: string | null };

/** A lease row. */
export interface Lease extends OccurrenceKey {
  holder: string;
  state: "held" | "done" | "skipped" | "missed";
  expiresAt: number;
  attempts: number;
  runId: string | null;
}
