/**
 * Batches lease claims: every occurrence that fires in the same turn of the
 * event loop is claimed in one write transaction, so 1,000 schedules due at
 * the same second cost one transaction, not 1,000.
 * @module
 */
import type { ClaimResult, LeasesRepository, OccurrenceKey } from "../store/mod.ts";

type Pending = {
  key: OccurrenceKey & { runId: string };
  resolve(result: ClaimResult): void;
  reject(error: unknown): void;
};

/** Claims occurrences for one holder, batching concurrent requests. */
export class ClaimBatcher {
  readonly #leases: LeasesRepository;
  readonly #holder: string;
  readonly #ttlMs: number;
  #queue: Pending[] = [];
  #scheduled = false;
  #flushing = false;

  /** Claims for `holder`, each lease good for `ttlMs` unless renewed. */
  constructor(leases: LeasesRepository, holder: string, ttlMs: number) {
    this.#leases = leases;
    this.#holder = holder;
    this.#ttlMs = ttlMs;
  }

  /** Claims one occurrence (see LeasesRepository.claim). */
  claim(key: OccurrenceKey & { runId: string }): Promise<ClaimResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ key, resolve, reject });
      this.#schedule();
    });
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
    const batch = this.#queue;
    this.#queue = [];
    try {
      const results = await this.#leases.claim(
        batch.map((p) => p.key),
        this.#holder,
        Date.now(),
        this.#ttlMs,
      );
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      this.#flushing = false;
      if (this.#queue.length > 0) this.#schedule();
    }
  }
}
