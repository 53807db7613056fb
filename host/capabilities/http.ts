/**
 * The fetch Extism's `http_request` uses for a plugin. Every hop (the first
 * request and each redirect) must be to a host and port in
 * `permissions.http.allowedHosts` and, once resolved, to an address the
 * operator's policy allows (egress.ts); the socket then goes to that checked
 * address (host/adapter/pinned-request.ts). A redirect to another origin drops
 * the plugin's credential headers. The whole exchange, name resolution
 * included, is capped in time, and the response in size. Failures that are
 * not refusals are `network_error`.
 * @module
 */
import { type Address, addressKind } from "./egress-address.ts";
import { EgressGate, type EgressOptions } from "./egress.ts";
import type { Injection } from "./grants.ts";
import { pinnedFetch } from "../adapter/pinned-request.ts";

/** Options of `guardedFetch`. */
export interface GuardedFetchOptions {
  /** Host names (`api.example.com`), globs (`*.example.com`), optionally with `:port`. */
  allowedHosts: readonly string[];
  /** Largest response body; past it the body stream fails (Extism then hands the plugin 0). */
  maxBytes: number;
  /** Time for the whole exchange, name resolution, redirects and body included. */
  timeoutMs: number;
  maxRedirects: number;
  /** Called for a refused hop (0 = the plugin's own URL), before the request fails. */
  onDenied(url: URL, hop: number, reason: string): void;
  /** Which special networks are allowed and how names resolve (or a gate built from them). */
  egress?: EgressOptions | EgressGate;
  /**
   * Answers requests without the network (`host test`'s HTTP fixtures): when
   * set, nothing is resolved or connected; allowedHosts, schemes, redirects and
   * caps still apply as in production.
   */
  transport?: HttpTransport;
  /**
   * `permissions.http.inject`: per allowedHosts entry, a header the host sets
   * from a secret (see `injectHeader`); `secret` looks a value up.
   */
  inject?: {
    entries: Readonly<Record<string, Injection>>;
    secret(name: string): { value: string; provider: string } | undefined;
    /** Called for each request that got a secret (an audit event, no value). */
    onInjected(url: URL, name: string, provider: string): void;
  };
}

/** A request as the gate passes it on, for a transport that answers it without the network. */
export interface TransportRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: Uint8Array | null;
  signal: AbortSignal;
}

/** Answers a request the gate allowed (see GuardedFetchOptions.transport). */
export type HttpTransport = (request: TransportRequest) => Promise<Response>;

/**
 * Marks a failure that is not a refusal (resolution, connection, timeout,
 * redirect limit); the sandbox classifies messages carrying it as `network_error`.
 */
export const NETWORK_ERROR_MARK = "(network_error)";

/**
 * Whether `url`'s host is allowed: exact names, `*.suffix` globs. An entry
 * with a port allows that port; an entry without one allows only the
 * scheme's default port (80 for http, 443 for https).
 */
export function hostAllowed(url: URL, allowedHosts: readonly string[]): boolean {
  const hostname = url.hostname.toLowerCase().replace(/^\[|\]$/g, "");
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return allowedHosts.some((entry) => {
    const match = /^(.*?)(?::(\d+))?$/.exec(entry.toLowerCase());
    const name = match?.[1] ?? "";
    if (match?.[2] === undefined ? url.port !== "" : match[2] !== port) return false;
    if (name.startsWith("*.")) return hostname.endsWith(name.slice(1));
    return hostname === name;
  });
}

/**
 * The injection that applies to a request to `url` (the first entry whose
 * host pattern matches, as allowedHosts match), when the value may travel:
 * over https, or over http only to a loopback address (a local sidecar or a
 * test server; never in clear text across a network). Undefined otherwise.
 */
export function injectHeader(
  url: URL,
  address: Address | undefined,
  entries: Readonly<Record<string, Injection>>,
): { host: string; injection: Injection } | undefined {
  const secure = url.protocol === "https:" ||
    (address !== undefined && addressKind(address) === "loopback");
  if (!secure) return undefined;
  for (const [host, injection] of Object.entries(entries)) {
    if (hostAllowed(url, [host])) return { host, injection };
  }
  return undefined;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Request headers dropped when a redirect leaves the origin (scheme, host or port). */
export const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"] as const;

/** A fetch that refuses hosts outside the list and special addresses on every hop, and caps time and size. */
export function guardedFetch(options: GuardedFetchOptions): typeof fetch {
  const gate = options.egress instanceof EgressGate
    ? options.egress
    : new EgressGate(options.egress);
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    // A Request (what the tape hands on) carries its method, headers and body itself.
    const request = input instanceof Request ? input : undefined;
    let url = new URL(request ? request.url : String(input));
    let method = (init?.method ?? request?.method ?? "GET").toUpperCase();
    let body = init?.body !== undefined
      ? await bytesOf(init.body)
      : request?.body
      ? new Uint8Array(await request.arrayBuffer())
      : null;
    const headers = new Headers(init?.headers ?? request?.headers);
    const signal = AbortSignal.timeout(options.timeoutMs);
    const timedOut = `no complete answer within the host's ${options.timeoutMs} ms limit`;
    const deny = (hop: number, reason: string): Error => {
      options.onDenied(url, hop, reason);
      // Worded like Extism's own refusal, which the sandbox classifies as permission_denied.
      return new Error(
        `HTTP request to ${url.origin} is not allowed${
          hop > 0 ? ` (redirect ${hop})` : ""
        }: ${reason}`,
      );
    };
    const fail = (reason: string): Error =>
      new Error(`HTTP request to ${url.origin} failed ${NETWORK_ERROR_MARK}: ${reason}`);
    // The header injected on the last hop: never carried to the next one (a redirect elsewhere).
    let injected: string | undefined;
    for (let hop = 0;; hop++) {
      if (injected !== undefined) headers.delete(injected);
      injected = undefined;
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw deny(hop, `scheme ${url.protocol} is not allowed: only http and https are`);
      }
      if (!hostAllowed(url, options.allowedHosts)) {
        throw deny(hop, `host '${url.host}' is not in permissions.http.allowedHosts`);
      }
      const sent = {
        url,
        method,
        headers,
        body: method === "GET" || method === "HEAD" ? null : body,
        signal,
      };
      const transport = options.transport;
      let send: () => Promise<Response>;
      let address: Address | undefined;
      if (transport) {
        send = () => transport(sent);
      } else {
        // Resolution counts against the same deadline as the exchange (a hung DNS server included).
        const decision = await gate.check(url.hostname, signal);
        if (!decision.ok) {
          if (decision.denied) throw deny(hop, decision.reason);
          throw fail(decision.timedOut ? `${timedOut} (${decision.reason})` : decision.reason);
        }
        address = decision.address;
        send = () => pinnedFetch({ ...sent, address: decision.address });
      }
      if (options.inject) {
        const result = injectHeader(url, address, options.inject.entries);
        if (result) {
          const found = options.inject.secret(result.injection.secret);
          if (found === undefined) {
            throw fail(
              `the host has no value for secret '${result.injection.secret}' to inject for ${url.host} (permissions.http.inject); the operator sets it`,
            );
          }
          // Checked here: the runtime's own refusal of a bad header value quotes the value.
          if (/[\0\r\n]/.test(found.value)) {
            throw fail(
              `secret '${result.injection.secret}' holds a line break or NUL, which no header value may; the operator fixes it`,
            );
          }
          headers.set(
            result.injection.header,
            (result.injection.format ?? "{}").replace("{}", () => found.value),
          );
          injected = result.injection.header;
          options.inject.onInjected(url, result.injection.secret, found.provider);
        }
      }
      let response: Response;
      try {
        response = await send();
      } catch (error) {
        throw fail(
          signal.aborted ? timedOut : (error as { code?: string }).code ?? String(error),
        );
      }
      const location = response.headers.get("location");
      if (!REDIRECTS.has(response.status) || location === null) {
        return capped(response, options.maxBytes);
      }
      await response.body?.cancel();
      if (hop >= options.maxRedirects) throw fail(`followed ${hop} redirects, the host's limit`);
      const from = url;
      try {
        url = new URL(location, url);
      } catch {
        throw fail(`the server redirected to a Location that is not a URL`);
      }
      // As fetch and curl do: credentials the plugin set for one origin do not follow it elsewhere.
      if (url.origin !== from.origin) {
        for (const name of CREDENTIAL_HEADERS) headers.delete(name);
      }
      if (
        response.status === 303 ||
        (response.status !== 307 && response.status !== 308 && method === "POST")
      ) {
        method = method === "HEAD" ? "HEAD" : "GET";
        body = null;
      }
    }
  };
}

/** A request body as bytes (Extism passes bytes; other forms are read whole). */
async function bytesOf(body: RequestInit["body"] | undefined): Promise<Uint8Array | null> {
  if (body === undefined || body === null) return null;
  if (body instanceof Uint8Array) return body;
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/** The response with a body stream that fails past `maxBytes`. */
function capped(response: Response, maxBytes: number): Response {
  if (!response.body) return response;
  let seen = 0;
  const limit = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > maxBytes) {
        controller.error(new Error(`HTTP response body passed the host's ${maxBytes}-byte limit`));
        return;
      }
      controller.enqueue(chunk);
    },
  });
  return new Response(response.body.pipeThrough(limit), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
