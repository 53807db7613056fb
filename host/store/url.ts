/**
 * Where the database is: `--db`, then `PLUGHOST_DB`, then `host.db` in the
 * data directory (host/config/paths.ts). A relative `file:` URL is taken
 * relative to the working directory.
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { resolvePaths } from "../config/paths.ts";
import { HostError } from "../errors.ts";

/** Resolves the database URL (flag, then env, then the data directory) as an absolute URL. */
export function resolveDbUrl(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): string {
  return normalizeDbUrl(resolvePaths(env, cwd, { db: flag }).db, cwd);
}

/** True for the in-memory database URLs libSQL knows. */
export function isMemoryUrl(url: string): boolean {
  return url === ":memory:" || url.startsWith("file::memory:");
}

/**
 * The store writes through its own connection (the batching writer), and an
 * in-memory libSQL database exists per connection, so the writer would see
 * an empty database. Say so instead of failing every write.
 */
export function memoryUnsupported(url: string): HostError {
  return new HostError(
    "usage",
    `In-memory databases ('${url}') are not supported: use a file (a temp file for throw-away data)`,
  );
}

/** Makes a `file:` URL absolute; accepts a bare path as a file; leaves other URLs alone. */
export function normalizeDbUrl(url: string, cwd: string): string {
  if (/^(libsql|wss?|https?):\/\//.test(url)) return url;
  if (isMemoryUrl(url)) throw memoryUnsupported(url);
  if (url.startsWith("file:")) {
    const rest = url.slice("file:".length);
    if (rest.startsWith("//")) return pathToFileURL(fileURLToPath(url)).href;
    return pathToFileURL(isAbsolute(rest) ? rest : resolve(cwd, rest)).href;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new HostError(
      "usage",
      `Unsupported database URL '${url}': use a file: URL, a path, or a libsql:// URL`,
    );
  }
  return pathToFileURL(resolve(cwd, url)).href;
}

/** The file path of a `file:` URL, or undefined for a server or in-memory database. */
export function dbFilePath(url: string, cwd: string = process.cwd()): string | undefined {
  if (!url.startsWith("file:") || isMemoryUrl(url)) return undefined;
  const rest = url.slice("file:".length).split("?")[0]!;
  if (rest.startsWith("//")) return fileURLToPath(url);
  // libSQL opens `file:./x.db` and `file:x.db` relative to the working directory, where
  // the URL parser would make them `/x.db`: every connection must open the same file.
  let path: string;
  try {
    path = decodeURIComponent(rest);
  } catch {
    throw new HostError(
      "usage",
      `The database URL '${url}' has an invalid percent escape: write '%' as '%25', or pass a plain path`,
    );
  }
  return resolve(cwd, path);
}
