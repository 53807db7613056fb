/**
 * Open streams per token and in all, against the caps in ServerOptions:
 * event streams (`GET /v1/events/stream`) and run streams
 * (`GET /v1/runs/{id}/stream`) count together.
 * @module
 */
import type { Context } from "hono";
import { ProblemError } from "./problem.ts";

/** The caps `take` checks (ServerOptions has them; this module does not import it: no cycle). */
export interface StreamCaps {
  maxStreamsPerToken: number;
  maxStreams: number;
}

/** The open-stream counts of one server. */
export class StreamCounts {
  #total = 0;
  readonly #byToken = new Map<string, number>();

  /** Streams open now. */
  get total(): number {
    return this.#total;
  }

  /** Counts one more stream of `tokenId`, or throws 429; returns the release. */
  take(tokenId: string, tokenName: string, options: StreamCaps): () => void {
    const mine = this.#byToken.get(tokenId) ?? 0;
    if (mine >= options.maxStreamsPerToken) {
      throw new ProblemError(
        "rate_limited",
        `Token '${tokenName}' already has ${mine} streams open (event and run streams), its ` +
          `limit: close one (or filter one event stream by type prefix instead of opening several)`,
        { headers: { "retry-after": "5" }, extensions: { limit: options.maxStreamsPerToken } },
      );
    }
    if (this.#total >= options.maxStreams) {
      throw new ProblemError(
        "rate_limited",
        `The server has ${this.#total} streams open (event and run streams), its limit: retry later`,
        { headers: { "retry-after": "5" }, extensions: { limit: options.maxStreams } },
      );
    }
    this.#total++;
    this.#byToken.set(tokenId, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#byToken.get(tokenId) ?? 1) - 1;
      if (left <= 0) this.#byToken.delete(tokenId);
      else this.#byToken.set(tokenId, left);
    };
  }
}

/**
 * The answer to HEAD on a stream route: the head a GET gets (200, an event
 * stream), no body, and no stream counted (HEAD reads nothing, so a stream
 * would never end).
 */
export function streamHead(c: Context): Response {
  return c.body(null, 200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
  });
}
