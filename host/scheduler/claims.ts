/**
 * Batches lease writes: the claims, skips and finishes of every occurrence
 * that fires or ends in the same turn of the event loop go to the database
 * as one write transaction (LeasesRepository.apply), so 1,000 schedules due
 * at the same second cost one commit, not 1,000. libsql runs a batch
 * synchronously, so it never waits on a lock held by this process.
 * @module
 */
import type { ClaimResult, LeaseBatch, LeasesRepository, OccurrenceKey } from "../store/mod.ts";
import type { SchedulerClock } from "./clock.ts";

type Waiter<T> = { resolve(value: T): void; reject(error: unknown): void };

/** Lease writes for one holder, batched per turn. */
export class LeaseBatcher {
  readonly #leases: LeasesRepository;
  readonly #holder: string;
  readonly #ttlMs: number;
  readonly #clock: Pick<SchedulerClock, "now">;
  #batch: LeaseBatch = { claims: [], skips: [], finishes: [] };
  #claims: Waiter<ClaimResult>[] = [];
  #skips: Waiter<boolean>[] = [];
  #finishes: Waiter<void>[] = [];
  #scheduled = false;
  #flushing = false;

  /** Writes for `holder`; claimed leases are good for `ttlMs` (by `clock`) unless renewed. */
  constructor(
    leases: LeasesRepository,
    holder: string,
    ttlMs: number,
    clock: Pick<SchedulerClock, "now"> = { now: () => Date.now() },
  ) {
    this.#leases = leases;
    this.#holder = holder;
    this.#ttlMs = ttlMs;
    this.#clock = clock;
  }

  /** Claims a fresh occurrence (see LeasesRepository.apply). */
  claim(key: OccurrenceKey & { runId: string }): Promise<ClaimResult> {
    return this.#add((w) => {
      this.#batch.claims.push(key);
      this.#claims.push(w);
    });
  }

  /** Records a skipped occurrence; true when this holder wrote it (and so reports it). */
  skip(key: OccurrenceKey): Promise<boolean> {
    return this.#add((w) => {
      this.#batch.skips.push(key);
      this.#skips.push(w);
    });
  }

  /** Marks this holder's lease on an occurrence done. */
  finish(key: OccurrenceKey, runId: string | null): Promise<void> {
    return this.#add((w) => {
      this.#batch.finishes.push({ ...key, runId });
      this.#finishes.push(w);
    });
  }

  #add<T>(push: (waiter: Waiter<T>) => void): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => push({ resolve, reject }));
    this.#schedule();
    return promise;
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    // Timers due at the same instant run in one pass; a 0 ms timer collects all of them.
    setTimeout(() => void this.#flush(), 0);
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    this.#flushing = true;
    const batch = this.#batch;
    const [claims, skips, finishes] = [this.#claims, this.#skips, this.#finishes];
    this.#batch = { claims: [], skips: [], finishes: [] };
    [this.#claims, this.#skips, this.#finishes] = [[], [], []];
    try {
      const result = await this.#leases.apply(batch, this.#holder, this.#clock.now(), this.#ttlMs);
      claims.forEach((w, i) => w.resolve(result.claims[i]!));
      skips.forEach((w, i) => w.resolve(result.skips[i]!));
      for (const w of finishes) w.resolve();
    } catch (error) {
      for (const w of [...claims, ...skips, ...finishes]) w.reject(error);
    } finally {
      this.#flushing = false;
      if (this.#claims.length + this.#skips.length + this.#finishes.length > 0) this.#schedule();
    }
  }
}
