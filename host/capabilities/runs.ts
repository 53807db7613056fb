/**
 * The runs in progress, as the host functions need them: the invoke chain
 * each belongs to, the secret values it read (to redact them), and its
 * per-run counters. Entries live from beforeCall to afterCall.
 * @module
 */
import type { Tape } from "./tape-record.ts";

/** What the host functions track about one running call. */
export interface ActiveRun {
  runId: string;
  pluginId: string;
  /** Plugin ids from the first caller down to this run's plugin. */
  chain: string[];
  /** Secret values this run read, for redaction. */
  secrets: Set<string>;
  published: number;
  /** Granted secret_get answers (each audited). */
  secretReads: number;
  logLines: number;
  logDropped: number;
  /** `audit.denied` events written for this run, and denials past the budget (only counted). */
  deniedAudited: number;
  deniedDropped: number;
  /** `secret.injected` events written for this run, and injections past the budget (only counted). */
  injectedAudited: number;
  injectedDropped: number;
  /**
   * Denials accounted for (audited or counted), by what was denied, over all of the run's
   * attempts, and those met in the current attempt: a call re-run after its main-thread slice
   * (docs/sandbox.md) meets its first attempt's denials again and must not audit them twice.
   */
  denialsAccounted: Map<string, number>;
  denialsThisAttempt: Map<string, number>;
  /** The run's determinism mode and host-call tape (docs/replay.md), set by beforeCall. */
  determinism?: "strict" | "best-effort" | undefined;
  tape?: Tape | undefined;
}

/**
 * Counts one audited act against each of `runs`' budget of `limit` events of
 * its kind (`denied` or `injected`): true when its event is to be written
 * (some run still had room), the others counting it as dropped.
 */
export function spendBudget(
  runs: readonly ActiveRun[],
  kind: "denied" | "injected",
  limit: number,
): boolean {
  let write = false;
  for (const run of runs) {
    if (run[`${kind}Audited`] < limit) {
      run[`${kind}Audited`]++;
      write = true;
    } else {
      run[`${kind}Dropped`]++;
    }
  }
  return write;
}

/** Denials of a plugin outside any run: events written, and how many were past the budget. */
export interface OutsideDenials {
  audited: number;
  dropped: number;
}

/** Active runs by id and by plugin. */
export class RunRegistry {
  readonly #runs = new Map<string, ActiveRun>();
  readonly #byPlugin = new Map<string, Set<string>>();
  /** Chains of runs that an `invoke` is about to start, by their chosen run id. */
  readonly #pending = new Map<string, string[]>();
  /** Per plugin, denials the host could tie to no run (they never reset: no run ends them). */
  readonly #outside = new Map<string, OutsideDenials>();

  /** Records that `invoke` will start `runId` with `chain` (which ends with the callee). */
  expect(runId: string, chain: string[]): void {
    this.#pending.set(runId, chain);
  }

  /** Forgets an expected run that never started. */
  unexpect(runId: string): void {
    this.#pending.delete(runId);
  }

  /** Starts tracking a run (from beforeCall). */
  begin(runId: string, pluginId: string): ActiveRun {
    const chain = this.#pending.get(runId) ?? [pluginId];
    this.#pending.delete(runId);
    const run: ActiveRun = {
      runId,
      pluginId,
      chain,
      secrets: new Set(),
      published: 0,
      secretReads: 0,
      logLines: 0,
      logDropped: 0,
      deniedAudited: 0,
      deniedDropped: 0,
      injectedAudited: 0,
      injectedDropped: 0,
      denialsAccounted: new Map(),
      denialsThisAttempt: new Map(),
    };
    this.#runs.set(runId, run);
    let set = this.#byPlugin.get(pluginId);
    if (!set) this.#byPlugin.set(pluginId, set = new Set());
    set.add(runId);
    return run;
  }

  /** Stops tracking a run (from afterCall) and returns it. */
  end(runId: string): ActiveRun | undefined {
    const run = this.#runs.get(runId);
    if (!run) return undefined;
    this.#runs.delete(runId);
    const set = this.#byPlugin.get(run.pluginId);
    set?.delete(runId);
    if (set?.size === 0) this.#byPlugin.delete(run.pluginId);
    return run;
  }

  /** A run's call starts again from the top (a re-run after its main-thread slice). */
  newAttempt(runId: string): void {
    this.#runs.get(runId)?.denialsThisAttempt.clear();
  }

  /** The denial counters of `pluginId` outside any run. */
  outsideDenials(pluginId: string): OutsideDenials {
    let found = this.#outside.get(pluginId);
    if (!found) this.#outside.set(pluginId, found = { audited: 0, dropped: 0 });
    return found;
  }

  /** A run in progress. */
  get(runId: string): ActiveRun | undefined {
    return this.#runs.get(runId);
  }

  /**
   * The one run of `pluginId` in progress, or undefined when none or several
   * are (Extism's log and HTTP callbacks do not say which call they serve).
   */
  soleRunOf(pluginId: string): ActiveRun | undefined {
    const set = this.#byPlugin.get(pluginId);
    if (set?.size !== 1) return undefined;
    return this.#runs.get(set.values().next().value!);
  }

  /** Every run of `pluginId` in progress. */
  runsOf(pluginId: string): ActiveRun[] {
    return [...this.#byPlugin.get(pluginId) ?? []].map((id) => this.#runs.get(id)!).filter(
      Boolean,
    );
  }
}
