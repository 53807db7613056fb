/**
 * Hop counts of delivery chains (docs/delivery.md#hop-limit). A delivery run
 * is one hop; what a run writes carries the hops of the delivery runs that led
 * to it (its own, and its parents' up the run chain, through plugin-to-plugin
 * calls too). Read from `run_records.parent_run_id` and `trigger`, so nothing
 * new is stored; the runs this host starts are remembered, so a chain running
 * here costs no walk per event.
 * @module
 */
import type { LogEvent, Store } from "../store/mod.ts";

/** Where an event stands in its delivery chain. */
export interface Chain {
  /** Delivery runs that led to the event (0: not written by a delivery run's chain). */
  hops: number;
  /** The chain's name: the correlation id of its first delivery run (the event that started it). */
  root: string;
}

/** Runs (and chains cut) remembered; older ones are read from the store again. */
const REMEMBERED = 10_000;

export class Chains {
  readonly #store: Store;
  readonly #max: number;
  readonly #runs = new Map<string, { hops: number; root: string | null }>();
  readonly #cut = new Set<string>();

  constructor(store: Store, maxHops: number) {
    this.#store = store;
    this.#max = maxHops;
  }

  /** The chain `event` is in. */
  async of(event: LogEvent): Promise<Chain> {
    const own = event.correlationId ?? event.id;
    if (event.runId === null) return { hops: 0, root: own };
    let run = this.#runs.get(event.runId);
    if (run === undefined) {
      // The walk stops at the limit: past it the exact count does not matter.
      run = await this.#store.delivery.runChain(event.runId, this.#max);
      // A run not found is not remembered: its row may be committed later.
      if (run === undefined) return { hops: 0, root: own };
      remember(this.#runs, event.runId, run);
    }
    return { hops: run.hops, root: run.root ?? own };
  }

  /** A delivery run of an event in `chain` started: one hop further. */
  started(runId: string, chain: Chain): void {
    remember(this.#runs, runId, { hops: chain.hops + 1, root: chain.root });
  }

  /** Whether an event in `chain` may not be delivered further. */
  exceeded(chain: Chain): boolean {
    return chain.hops >= this.#max;
  }

  /** True the first time a chain is cut (on this host): report it then, and only then. */
  firstCut(chain: Chain): boolean {
    if (this.#cut.has(chain.root)) return false;
    this.#cut.add(chain.root);
    if (this.#cut.size > REMEMBERED) this.#cut.delete(this.#cut.values().next().value!);
    return true;
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  if (map.size > REMEMBERED) map.delete(map.keys().next().value!);
}
