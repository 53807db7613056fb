/**
 * A run's host-call tape as data (docs/replay.md): the answers, in order,
 * recorded in a normal run and served back in a replay. The host functions
 * that fill and read it are in tape.ts.
 * @module
 */

/** Most bytes of recorded answers one run keeps (1 MiB). */
export const TAPE_MAX_BYTES = 1024 * 1024;

/** One recorded host call: its function, a digest of what the plugin asked, and the answer. */
export interface TapeEntry {
  fn: string;
  /** sha256 of the request bytes (HTTP: of the request by `inRule`, tape-http.ts). */
  in: string;
  /**
   * HTTP only: the rule `in` follows. Absent in entries recorded before rules
   * were numbered: rule 1, `METHOD URL`. Now 2: method, URL, headers, body.
   */
  inRule?: number;
  /** The answer as base64; absent for a secret read. */
  out?: string;
  /** HTTP only: the response's status and headers (`out` is its body). */
  status?: number;
  headers?: [string, string][];
  /** A secret read: its value is never recorded, so the run cannot be replayed. */
  secret?: true;
}

/** Why a recorded tape cannot serve a replay, or null when it can. */
export function tapeUnreplayable(entries: readonly TapeEntry[]): string | null {
  const secret = entries.find((e) => e.secret);
  return secret ? "the run read a secret (secret_get): secret values are never recorded" : null;
}

/** A run's tape: recording (a normal run) or replaying (trigger `replay`). */
export class Tape {
  readonly entries: TapeEntry[];
  readonly replaying: boolean;
  /** Why the recording is incomplete (size cap, an unattributable HTTP answer), if it is. */
  incomplete: string | null = null;
  /** Replaying: how the plugin first left the tape (the run's error class says so, invoke.ts). */
  diverged: string | null = null;
  #bytes = 0;
  #cursor = 0;

  private constructor(entries: TapeEntry[], replaying: boolean) {
    this.entries = entries;
    this.replaying = replaying;
  }

  /** An empty tape that records. */
  static record(): Tape {
    return new Tape([], false);
  }

  /** A tape that serves `entries` back in order. */
  static replay(entries: readonly TapeEntry[]): Tape {
    return new Tape([...entries], true);
  }

  /** Starts over (a call cut at its main-thread slice is re-run from the start). */
  reset(): void {
    if (this.replaying) {
      this.#cursor = 0;
      this.diverged = null;
    } else {
      this.entries.length = 0;
      this.#bytes = 0;
      this.incomplete = null;
    }
  }

  /** Records one answer; past the cap the tape is cut (the run stays, its replay does not). */
  add(entry: TapeEntry): void {
    if (this.incomplete !== null) return;
    const size = (entry.out?.length ?? 0) + entry.fn.length + 80;
    if (this.#bytes + size > TAPE_MAX_BYTES) {
      this.incomplete = `the host-call tape passed its ${TAPE_MAX_BYTES}-byte cap`;
      this.entries.length = 0;
      return;
    }
    this.#bytes += size;
    this.entries.push(entry);
  }

  /** The entry the next call is to match, if any (a replay reads its digest rule). */
  upcoming(): TapeEntry | undefined {
    return this.entries[this.#cursor];
  }

  /**
   * The recorded answer for the next call, which must be `fn` asked the same
   * `digest`; a replay that asks anything else has diverged from the original.
   */
  next(fn: string, digest: string): TapeEntry {
    const entry = this.entries[this.#cursor];
    if (!entry || entry.fn !== fn || entry.in !== digest) {
      const recorded = entry ? `${entry.fn}` : "nothing more";
      const why = `Replay diverged at host call ${this.#cursor + 1}: the plugin called ${fn}` +
        (entry?.fn === fn ? " with other input" : "") + `, the original run called ${recorded}`;
      this.diverged ??= why;
      throw new ReplayDiverged(why);
    }
    this.#cursor++;
    return entry;
  }
}

/** A replayed plugin asked the host something the original run did not. */
export class ReplayDiverged extends Error {
  override readonly name = "ReplayDiverged";
}
