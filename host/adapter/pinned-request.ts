/**
 * One HTTP exchange to an address that was already checked: node:http(s)
 * with a `lookup` that answers only that address, so the socket goes where
 * the gate looked while the Host header and TLS SNI keep the URL's name.
 * node:http's `lookup` option works on Node and on Deno 2 alike (both tested
 * in test/security/egress.test.ts and test/deno/egress.test.ts), so this one
 * file serves both runtimes; it lives here because it is the host's only
 * outbound HTTP client (node:http is adapter territory).
 * @module
 */
import { type IncomingMessage, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import type { Address } from "../capabilities/egress-address.ts";

/** What one hop sends. */
export interface PinnedRequest {
  url: URL;
  address: Address;
  method: string;
  headers: Headers;
  body: Uint8Array | null;
  signal: AbortSignal;
}

/**
 * Request headers the plugin may not set: they frame the message or manage the
 * connection (a plugin's `transfer-encoding` beside the host's `content-length`
 * makes a message proxies read two ways), and the host sets what it needs.
 */
const HOP_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "expect",
]);

/**
 * Whether the client sends a plugin's request header `name` (lower-case) on:
 * not a framing or connection header, nor a `proxy-*` one (the host uses no proxy).
 */
export function forwardsHeader(name: string): boolean {
  return !HOP_HEADERS.has(name) && !name.startsWith("proxy-");
}

/** Statuses whose responses have no body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** Sends `req` to `req.address` and resolves with the response once its head arrives. */
export function pinnedFetch(req: PinnedRequest): Promise<Response> {
  const lookup: LookupFunction = (_hostname, options, callback) => {
    const family = req.address.family;
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
        { address: req.address.text, family },
      ]);
    } else callback(null, req.address.text, family);
  };
  const headers: Record<string, string> = {};
  // The plugin does not choose Host (it is the URL's, so a checked address cannot serve another
  // name), nor how the message is framed or the connection used: those are the client's.
  req.headers.forEach((value, name) => {
    if (forwardsHeader(name)) headers[name] = value;
  });
  if (req.body !== null) headers["content-length"] = String(req.body.byteLength);
  const send = req.url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<Response>((resolve, reject) => {
    if (req.signal.aborted) return reject(abortError(req.signal));
    const outgoing = send(req.url, { method: req.method, headers, lookup, agent: false }, (res) => {
      // The server chose this head: one the Response constructor refuses must fail this request
      // only. Thrown from here it would be uncaught, and end the host's process.
      try {
        resolve(toResponse(res, req.signal));
      } catch (error) {
        res.destroy();
        reject(error);
      }
    });
    const onAbort = () => outgoing.destroy(abortError(req.signal));
    req.signal.addEventListener("abort", onAbort, { once: true });
    outgoing.on("error", (error) => reject(error));
    outgoing.on("close", () => req.signal.removeEventListener("abort", onAbort));
    outgoing.end(req.body ?? undefined);
  });
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error("the request was aborted");
}

function toResponse(res: IncomingMessage, signal: AbortSignal): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const status = res.statusCode ?? 0;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new Error(`the server answered with status ${status}, which is not a final HTTP status`);
  }
  // The reason phrase is the server's free text (control characters and all): not passed on.
  const init = { status, statusText: "", headers };
  if (NULL_BODY.has(status)) {
    res.resume();
    return new Response(null, init);
  }
  const onAbort = () => res.destroy(abortError(signal));
  signal.addEventListener("abort", onAbort, { once: true });
  // Once the reader cancels (size cap, timeout) the controller is closed: later data, end or
  // error events from the socket must not touch it.
  let open = true;
  const finish = (action: () => void) => {
    if (!open) return;
    open = false;
    signal.removeEventListener("abort", onAbort);
    try {
      action();
    } catch {
      // Already errored by the reader's side.
    }
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      res.on("data", (chunk: Uint8Array) => {
        if (!open) return;
        controller.enqueue(new Uint8Array(chunk));
        if ((controller.desiredSize ?? 1) <= 0) res.pause();
      });
      res.on("end", () => finish(() => controller.close()));
      res.on("error", (error) => finish(() => controller.error(error)));
    },
    pull() {
      res.resume();
    },
    cancel() {
      finish(() => {});
      res.destroy();
    },
  }, { highWaterMark: 65_536, size: (chunk) => chunk.byteLength });
  return new Response(body, init);
}
