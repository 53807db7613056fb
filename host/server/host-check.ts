/**
 * The `Host` header check against DNS rebinding: a page on evil.example whose
 * name later resolves to 127.0.0.1 reaches a loopback server with
 * `Host: evil.example`. A server bound to loopback accepts only loopback
 * names; the operator names more (`allowedHosts`) or turns the check off
 * (`"any"`, for proxies that pass any Host). A server bound elsewhere checks
 * only when the operator names hosts. docs/http-api.md#host-header-check.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import type { AppEnv } from "./context.ts";
import { ProblemError } from "./problem.ts";

/** What the operator accepts besides the defaults: names (`.example.com`: it and its subdomains), or any Host. */
export type AllowedHosts = readonly string[] | "any";

/** The decision for one request's Host header. */
export type HostVerdict =
  | { accepted: true }
  | { accepted: false; reason: "malformed" | "not_allowed"; host: string };

/** A configured check: what `hostCheckFor` returns when Hosts are checked at all. */
export interface HostCheck {
  /** Whether the server listens on a loopback address (the refusal's wording depends on it). */
  readonly loopback: boolean;
  verdict(header: string | undefined): HostVerdict;
}

/**
 * The check for a server listening on `bound` (an address or name), or
 * undefined when every Host is accepted: `allowed` is `"any"`, or the server
 * listens on a non-loopback address and the operator named no hosts.
 * `allowed` holds names as `AllowedHostName` normalizes them.
 */
export function hostCheckFor(bound: string, allowed: AllowedHosts = []): HostCheck | undefined {
  if (allowed === "any") return undefined;
  const self = normalizeName(bound);
  const loopback = self !== undefined && isLoopback(self);
  if (!loopback && allowed.length === 0) return undefined;
  const exact = new Set(allowed.filter((n) => !n.startsWith(".")));
  if (self !== undefined) exact.add(self);
  const suffixes = allowed.filter((n) => n.startsWith("."));
  const accepts = (name: string) =>
    // Loopback names and addresses are never what a rebinding produces: browsers keep
    // localhost and *.localhost on loopback, and an IP literal cannot be re-resolved.
    isLoopback(name) || exact.has(name) ||
    suffixes.some((s) => name === s.slice(1) || name.endsWith(s));
  return {
    loopback,
    verdict(header) {
      // Browsers, the only clients a rebinding can drive, always send Host; a client
      // without one (HTTP/1.0) names no host to check.
      if (header === undefined) return { accepted: true };
      const name = hostOfHeader(header);
      if (name === undefined) return { accepted: false, reason: "malformed", host: header };
      return accepts(name)
        ? { accepted: true }
        : { accepted: false, reason: "not_allowed", host: name };
    },
  };
}

/**
 * An operator's host name, normalized (lowercase, no trailing dot, IPv6 in
 * brackets); a leading dot (`.example.com`) stands for the name and its
 * subdomains. Names carry no port: any port is accepted.
 */
export const AllowedHostName = z.string().transform((raw, ctx) => {
  const text = raw.trim();
  const suffix = text.startsWith(".") && !text.startsWith("..");
  const name = normalizeName(suffix ? text.slice(1) : text);
  if (name === undefined || (suffix && name.startsWith("["))) {
    ctx.addIssue({
      code: "custom",
      message: `'${raw.slice(0, 100)}' is not a host name or IP address (write names without ` +
        "scheme, port or wildcard: 'plughost.internal', '.example.com' for a domain and its " +
        "subdomains, '10.0.0.5', '[fd00::5]')",
    });
    return z.NEVER;
  }
  return suffix ? `.${name}` : name;
});

// uri-host [":" port] (RFC 9110 7.2), narrowed to what real hosts use: an IPv6 literal, or
// letters, digits, '.', '-', '_' and '~' (IPv4 addresses and DNS names, punycode included).
const HOST_HEADER = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9._~-]+))(?::(\d{0,5}))?$/i;

/** The host name of a Host header value, normalized; undefined when it is malformed. */
export function hostOfHeader(header: string): string | undefined {
  const match = HOST_HEADER.exec(header);
  if (match === null) return undefined;
  const port = match[3];
  if (port !== undefined && port !== "" && Number(port) > 65535) return undefined;
  return match[1] !== undefined ? normalizeIpv6(match[1]) : normalizeName(match[2]!);
}

/** A bare name or address (no port), normalized; undefined when it is neither. */
function normalizeName(raw: string): string | undefined {
  if (raw.startsWith("[") && raw.endsWith("]")) return normalizeIpv6(raw.slice(1, -1));
  if (raw.includes(":")) return normalizeIpv6(raw);
  const name = (raw.endsWith(".") ? raw.slice(0, -1) : raw).toLowerCase();
  if (!/^[a-z0-9_~-]+(?:\.[a-z0-9_~-]+)*$/.test(name)) return undefined;
  return name;
}

/** `[::1]`-style compressed lowercase form (WHATWG URL's), or undefined when not IPv6. */
function normalizeIpv6(address: string): string | undefined {
  if (!/^[0-9a-f:.]+$/i.test(address)) return undefined;
  try {
    return new URL(`http://[${address}]/`).hostname;
  } catch {
    return undefined;
  }
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
// ::ffff:127.x.x.x, as URL writes it.
const MAPPED_LOOPBACK = /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/;

/** localhost, *.localhost, 127.0.0.0/8, ::1 (and IPv4-mapped 127/8), of a normalized name. */
export function isLoopback(name: string): boolean {
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (name === "[::1]" || MAPPED_LOOPBACK.test(name)) return true;
  const v4 = IPV4.exec(name);
  return v4 !== null && v4[1] === "127" && v4.slice(2).every((n) => Number(n) <= 255);
}

/**
 * Paths answered whatever the Host: probes of orchestrators name the pod's IP
 * or a service name, and these two say nothing a page could use (the server
 * is up; the store answers, and how many plugins are loaded).
 */
const PROBES = new Set(["/healthz", "/readyz"]);

/**
 * The middleware refusing what `check` does not accept: 421 `host_not_allowed`
 * (the server is not the authority for that name), 400 for a malformed Host.
 * An absolute-form request target (`GET http://name/ HTTP/1.1`) names the
 * authority itself (RFC 9112, 3.2.2): its host is checked too.
 */
export function hostGuard(check: HostCheck): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!PROBES.has(c.req.path)) {
      const verdict = check.verdict(c.req.header("host"));
      if (!verdict.accepted) throw refusal(verdict, check.loopback);
      const target = check.verdict(new URL(c.req.url).host);
      if (!target.accepted) throw refusal(target, check.loopback);
    }
    await next();
  };
}

function refusal(
  verdict: Extract<HostVerdict, { accepted: false }>,
  loopback: boolean,
): ProblemError {
  const host = verdict.host.slice(0, 100);
  if (verdict.reason === "malformed") {
    return new ProblemError(
      "invalid_input",
      `The Host header '${host}' is not a host name or IP address with an optional port`,
    );
  }
  // The client cannot fix this; the operator can, so the detail names the operator's switches.
  const why = loopback
    ? "it listens on a loopback address and answers only to loopback names (localhost, " +
      "*.localhost, 127.x.x.x, [::1]), so that a web page cannot reach it by DNS rebinding"
    : "it answers only to the host names its operator listed";
  return new ProblemError(
    "host_not_allowed",
    `This server does not answer to the Host '${host}': ${why}. If '${host}' names this ` +
      `server, its operator can accept it with \`host serve --allowed-host ${host}\` ` +
      `(config "allowedHosts"), or accept any Host with --allow-any-host (config ` +
      `"allowAnyHost") behind a proxy that checks Host itself`,
    { extensions: { host } },
  );
}
