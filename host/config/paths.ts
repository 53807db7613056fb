/**
 * Where the host keeps its data: one data directory (`$PLUGHOST_HOME`,
 * default `./.plughost`) whose parts flags and environment variables override.
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";

/** Resolved locations of the host's data. */
export interface HostPaths {
  /** The data directory. */
  home: string;
  /** libSQL URL of the database (default `file:<home>/host.db`). */
  db: string;
  /** Trust store directory (default `<home>/trust`). */
  trust: string;
  /** Installed modules by digest (default `<home>/plugins`). */
  plugins: string;
  /** Compiled module cache (default `<home>/cache`). */
  cache: string;
  /** Keys made by `host keygen` (default `<home>/keys`). */
  keys: string;
}

/** Path flags a command may pass; each wins over its environment variable. */
export interface PathFlags {
  home?: string | undefined;
  db?: string | undefined;
  trust?: string | undefined;
  plugins?: string | undefined;
}

/**
 * Resolves the data paths. Precedence: flag, then environment variable
 * (PLUGHOST_HOME, PLUGHOST_DB, PLUGHOST_TRUST), then the default under home.
 * Relative paths resolve against `cwd`; a db value that is not a URL becomes a
 * `file:` URL.
 *
 * @example
 * ```ts
 * const { trust, db } = resolvePaths(io.env, io.cwd, { trust: values.trust });
 * // trust: <cwd>/.plughost/trust, db: file:<cwd>/.plughost/host.db by default
 * ```
 */
export function resolvePaths(
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  flags: PathFlags = {},
): HostPaths {
  const pick = (flag: string | undefined, name: string) => nonEmpty(flag) ?? nonEmpty(env[name]);
  const home = resolve(cwd, pick(flags.home, "PLUGHOST_HOME") ?? ".plughost");
  const db = pick(flags.db, "PLUGHOST_DB");
  return {
    home,
    db: db === undefined ? `file:${join(home, "host.db")}` : toDbUrl(db, cwd),
    trust: resolve(cwd, pick(flags.trust, "PLUGHOST_TRUST") ?? join(home, "trust")),
    plugins: resolve(cwd, nonEmpty(flags.plugins) ?? join(home, "plugins")),
    cache: join(home, "cache"),
    keys: join(home, "keys"),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** `libsql://...`, `file:...`, `http(s)://...` stay as given; a plain path becomes `file:<absolute>`. */
function toDbUrl(value: string, cwd: string): string {
  if (/^[a-z][a-z0-9+.-]+:/i.test(value) && !isAbsolute(value)) return value;
  return `file:${resolve(cwd, value)}`;
}
