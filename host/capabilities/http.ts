/**
 * The fetch Extism's `http_request` uses for a plugin: every hop (the first
 * request and each redirect) must be to a host in `permissions.http.allowedHosts`,
 * and the whole exchange is capped in time and response size.
 * @module
 */

/** Options of `guardedFetch`. */
export interface GuardedFetchOptions {
  /** Host names (`api.example.com`), globs (`*.example.com`), optionally with `:port`. */
  allowedHosts: readonly string[];
  /** Largest response body; past it the body stream fails (Extism then hands the plugin 0). */
  maxBytes: number;
  /** Time for the whole exchange, redirects and body included. */
  timeoutMs: number;
  maxRedirects: number;
  /** Called for a refused hop (0 = the plugin's own URL), before the request fails. */
  onDenied(url: URL, hop: number): void;
  /** The fetch underneath (default: the global one). */
  fetch?: typeof fetch;
}

/** Whether `url`'s host is allowed: exact names, `*.suffix` globs; an entry with a port needs that port. */
export function hostAllowed(url: URL, allowedHosts: readonly string[]): boolean {
  const hostname = url.hostname.toLowerCase().replace(/^\[|\]$/g, "");
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return allowedHosts.some((entry) => {
    const match = /^(.*?)(?::(\d+))?$/.exec(entry.toLowerCase());
    const name = match?.[1] ?? "";
    if (match?.[2] !== undefined && match[2] !== port) return false;
    if (name.startsWith("*.")) return hostname.endsWith(name.slice(1));
    return hostname === name;
  });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A fetch that refuses hosts outside the list on every hop and caps time and size. */
export function guardedFetch(options: GuardedFetchOptions): typeof fetch {
  const base = options.fetch ?? globalThis.fetch;
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    let url = new URL(input instanceof Request ? input.url : String(input));
    let method = (init?.method ?? "GET").toUpperCase();
    let body = init?.body ?? null;
    const signal = AbortSignal.timeout(options.timeoutMs);
    for (let hop = 0;; hop++) {
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        options.onDenied(url, hop);
        throw new Error(`HTTP request to ${url.protocol} is not allowed: only http and https are`);
      }
      if (!hostAllowed(url, options.allowedHosts)) {
        options.onDenied(url, hop);
        // Worded like Extism's own refusal, which the sandbox classifies as permission_denied.
        throw new Error(
          `HTTP request to ${url.origin} is not allowed${
            hop > 0 ? ` (redirect ${hop})` : ""
          }: host '${url.host}' is not in permissions.http.allowedHosts`,
        );
      }
      const response = await base(url, {
        method,
        headers: init?.headers ?? {},
        ...(body !== null ? { body } : {}),
        redirect: "manual",
        signal,
      });
      const location = response.headers.get("location");
      if (!REDIRECTS.has(response.status) || location === null) {
        return capped(response, options.maxBytes);
      }
      await response.body?.cancel();
      if (hop >= options.maxRedirects) {
        throw new Error(`HTTP request followed ${hop} redirects, the host's limit`);
      }
      url = new URL(location, url);
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
