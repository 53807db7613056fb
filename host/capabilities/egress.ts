/**
 * The egress gate's address rule: resolve the name, refuse it when any of its
 * addresses is loopback, private, link-local, multicast, unspecified, CGNAT,
 * reserved or cloud metadata (unless an operator network allows it), and hand
 * back the one address the connection must use (no second lookup, so no DNS
 * rebinding between the check and the connect).
 * @module
 */
import { lookup } from "node:dns/promises";
import {
  type Address,
  addressKind,
  allowedBy,
  type Network,
  parseAddress,
  parseNetwork,
} from "./egress-address.ts";

/**
 * Resolves a host name to its addresses (text). Injected in tests; the default
 * asks the system. `signal`: the request's deadline (a lookup not started by
 * then need not start).
 */
export type Resolver = (hostname: string, signal?: AbortSignal) => Promise<string[]>;

/**
 * System lookups in flight at most. getaddrinfo runs on libuv's thread pool
 * (4 threads), which file reads and WebCrypto share, and cannot be cancelled:
 * a plugin asking for names whose DNS server never answers would otherwise
 * hold every thread for the resolver's own timeout, and the host's file and
 * crypto work with them. Lookups past the limit wait their turn (bounded by
 * their request's deadline).
 */
export const MAX_SYSTEM_LOOKUPS = 2;

/**
 * `inner` with at most `max` lookups in flight; the others wait in order, and
 * one whose signal aborts while it waits never starts.
 */
export function limitedResolver(inner: Resolver, max: number): Resolver {
  let running = 0;
  const waiting: (() => void)[] = [];
  const turn = (signal: AbortSignal | undefined): Promise<void> => {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (running < max) {
      running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const go = () => {
        signal?.removeEventListener("abort", onAbort);
        running++;
        resolve();
      };
      const onAbort = () => {
        const at = waiting.indexOf(go);
        if (at >= 0) waiting.splice(at, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      waiting.push(go);
    });
  };
  return async (hostname, signal) => {
    await turn(signal);
    try {
      return await inner(hostname, signal);
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address; see MAX_SYSTEM_LOOKUPS. */
export const systemResolver: Resolver = limitedResolver(
  async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address),
  MAX_SYSTEM_LOOKUPS,
);

/** Options of the gate. */
export interface EgressOptions {
  /** Networks the operator lets plugins reach although they are special (CIDR, e.g. `127.0.0.0/8`). */
  allowNetworks?: readonly string[];
  /** Name resolution (default: `systemResolver`). */
  resolve?: Resolver;
}

/** The outcome of a check: the address to connect to, or why not. */
export type EgressDecision =
  | { ok: true; address: Address }
  | { ok: false; denied: true; reason: string }
  | { ok: false; denied: false; reason: string; timedOut?: true };

/** Checks destinations against the special ranges and the operator's networks. */
export class EgressGate {
  readonly networks: readonly Network[];
  readonly #resolve: Resolver;

  /** Throws HostError invalid_input for a malformed network. */
  constructor(options: EgressOptions = {}) {
    this.networks = (options.allowNetworks ?? []).map(parseNetwork);
    this.#resolve = options.resolve ?? systemResolver;
  }

  /**
   * Resolves `hostname` (a name or an IP literal) and decides. When `signal`
   * aborts first (the request's deadline), the lookup is abandoned and the
   * decision is `timedOut`: a hung resolver cannot hold the request past it.
   */
  async check(hostname: string, signal?: AbortSignal): Promise<EgressDecision> {
    const literal = parseAddress(hostname);
    let addresses: Address[];
    if (literal !== undefined) addresses = [literal];
    else {
      let texts: string[];
      try {
        texts = await untilAborted(this.#resolve(hostname, signal), signal);
      } catch (error) {
        if (signal?.aborted) {
          return { ok: false, denied: false, timedOut: true, reason: `resolving '${hostname}'` };
        }
        const code = (error as { code?: string }).code ?? String(error);
        return { ok: false, denied: false, reason: `cannot resolve '${hostname}' (${code})` };
      }
      addresses = texts.map(parseAddress).filter((a): a is Address => a !== undefined);
      if (addresses.length === 0) {
        return { ok: false, denied: false, reason: `'${hostname}' has no address` };
      }
    }
    // Every address must pass: a name with one public and one private record is refused.
    for (const address of addresses) {
      const kind = addressKind(address);
      if (kind !== undefined && allowedBy(address, kind, this.networks) === undefined) {
        const via = literal === undefined ? `'${hostname}' resolves to ` : "";
        return {
          ok: false,
          denied: true,
          reason: `${via}${address.text} is a ${kind} address, which the operator's policy ` +
            "does not allow (policy http.allowNetworks)",
        };
      }
    }
    return { ok: true, address: addresses[0] as Address };
  }
}

/**
 * `work`, or a rejection once `signal` aborts. The system resolver
 * (getaddrinfo) cannot be cancelled: its answer, when it comes, is dropped.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) {
      work.catch(() => {}); // abandoned: its own failure must not go unhandled
      return onAbort();
    }
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
