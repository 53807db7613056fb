/**
 * The policy's HTTP destination patterns (`http.hosts`) and whether they
 * cover a manifest's `allowedHosts` entry. A pattern is a host part (`*`,
 * `*.example.com` or a name) with an optional port: `:8443` that port only,
 * `:*` any port, none the default ports 80 and 443 only, the same reading as
 * a manifest entry without a port (host/capabilities/http.ts `hostAllowed`).
 * @module
 */

/** A port 1-65535, without leading zeros. */
const PORT = "([1-9]\\d{0,3}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5])";

/** The whole pattern (also the JSON Schema's `pattern`). */
export const HOST_PATTERN = new RegExp(
  `^(\\*|(\\*\\.)?[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*)(:(${PORT}|\\*))?$`,
);

/** What the policy file's error says about a pattern that does not parse. */
export function hostPatternError(entry: unknown): string {
  return `'${String(entry)}' is not a host pattern: write a name (api.example.com), ` +
    "'*.example.com' or '*', optionally with ':port' (1-65535; without one only the default " +
    "ports 80 and 443) or ':*' (any port)";
}

/** The ports a manifest entry without a port reaches (http and https). */
const DEFAULT_PORTS = ["80", "443"] as const;

/** Splits `name:port` into its parts; no port is `undefined`. */
function split(entry: string): { host: string; port: string | undefined } {
  const match = /^(.*?)(?::(\d+|\*))?$/.exec(entry.toLowerCase());
  return { host: match?.[1] ?? "", port: match?.[2] };
}

/** Whether host part `outer` (`*`, `*.s`, a name) allows every host the entry's host part (`*.x` or a name) names. */
function hostPartCovers(outer: string, entry: string): boolean {
  if (outer === "*" || outer === entry) return true;
  if (!outer.startsWith("*.")) return false;
  const suffix = outer.slice(2);
  const name = entry.startsWith("*.") ? entry.slice(2) : entry;
  return name.endsWith(`.${suffix}`) || (entry.startsWith("*.") && name === suffix);
}

/** Whether a pattern's port part (`undefined` = default ports, `*`, a number) allows `port`. */
function portAllowed(outer: string | undefined, port: string): boolean {
  if (outer === "*") return true;
  if (outer === undefined) return (DEFAULT_PORTS as readonly string[]).includes(port);
  return outer === port;
}

/**
 * Whether `patterns` together allow every destination the manifest entry
 * (`api.example.com`, `*.example.com`, `host:8443`) names: each port the
 * entry reaches (80 and 443 without a port) by a pattern covering its host.
 */
export function hostsCover(patterns: readonly string[], entry: string): boolean {
  const asked = split(entry);
  const parsed = patterns.map(split);
  const ports = asked.port === undefined ? DEFAULT_PORTS : [asked.port];
  return ports.every((port) =>
    parsed.some((p) => hostPartCovers(p.host, asked.host) && portAllowed(p.port, port))
  );
}
