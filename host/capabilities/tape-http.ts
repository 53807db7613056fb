/**
 * The `in` digest of an `http_request` tape entry (docs/replay.md): what the
 * plugin's request sends, so a replay that sends another body or other
 * headers to the same URL diverges instead of being served the recorded answer.
 * @module
 */
import { sha256Hex, sha256Id } from "../artifact/mod.ts";
import { forwardsHeader } from "../adapter/pinned-request.ts";

/**
 * The digest rule of http_request entries recorded now (`TapeEntry.inRule`).
 * Entries without `inRule` (recorded before 2026-12-05, in stored runs and
 * evidence bundles) were digested by rule 1, `METHOD URL`, and are checked by it.
 */
export const HTTP_IN_RULE = 2;

/**
 * The digest of `request` by `rule` (see httpRequestDigest), or undefined for
 * a rule this host does not know (a tape from a newer host).
 */
export function httpInDigest(
  request: Request,
  body: Uint8Array | null,
  rule: number | undefined,
): Promise<string | undefined> {
  if (rule === undefined || rule === 1) {
    return Promise.resolve(sha256Id(`${request.method} ${request.url}`));
  }
  return rule === HTTP_IN_RULE ? httpRequestDigest(request, body) : Promise.resolve(undefined);
}

/**
 * The digest of `request` by rule 2, the one entries are recorded with.
 * `body`: the bytes the plugin sends, or null for none (an empty body is not
 * none: it is sent with `content-length: 0`).
 *
 * It covers the upper-case method, the URL, the request headers the host
 * forwards (host/adapter/pinned-request.ts drops framing, connection and
 * `proxy-*` ones; names lower-case, sorted; a name the plugin gave twice in
 * different cases is one header, its values joined by ", " in order, as
 * Headers joins them and as they are sent) and the SHA-256 of the body (hashed,
 * never stored: it may hold credentials). Headers the host adds itself are not
 * in it, on purpose: they are added after this digest, further down the gate
 * (`permissions.http.inject` secrets, whose values rotate and must not reach the
 * tape; `content-length`, which follows from the body; `host`, from the URL;
 * `connection: close`). node:http adds no `user-agent`, on Node or Deno. So
 * nothing in it varies between a run and its replay unless the plugin's request does.
 * A body of 1 MiB or more is hashed off the host's thread (sha256Hex).
 */
export async function httpRequestDigest(
  request: Request,
  body: Uint8Array | null,
): Promise<string> {
  const headers: [string, string][] = [];
  request.headers.forEach((value, name) => {
    if (forwardsHeader(name)) headers.push([name, value]);
  });
  // Headers iterates sorted already; sorted again so the rule does not rest on that.
  headers.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const canonical = JSON.stringify([
    request.method.toUpperCase(),
    request.url,
    headers,
    body === null ? null : await sha256Hex(body),
  ]);
  return sha256Id(canonical);
}

/**
 * The body `request` carries, as bytes. Extism hands its fetch a Uint8Array
 * in `init.body`: that very array is hashed, with no copy; any other form is
 * read from a clone, so the request can still be sent.
 */
export async function requestBody(
  request: Request,
  init: RequestInit | undefined,
): Promise<Uint8Array | null> {
  if (init?.body instanceof Uint8Array) return init.body;
  if (request.body === null) return null;
  return new Uint8Array(await request.clone().arrayBuffer());
}
