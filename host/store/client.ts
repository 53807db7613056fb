/**
 * Opens the libSQL client: a local file (WAL mode, busy timeout on every
 * pooled connection) or a libSQL server.
 * @module
 */
import { type Client, createClient } from "@libsql/client";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { HostError } from "../errors.ts";
import { dbFilePath } from "./url.ts";

/** How to reach the database. */
export interface ClientOptions {
  /** An absolute `file:` URL or a `libsql://` URL (see url.ts; in-memory is refused). */
  url: string;
  authToken?: string | undefined;
  /** How long a local write waits for another process's lock, in ms (default 5000). */
  busyTimeoutMs?: number | undefined;
  /** Create the file's folder if missing (default true). */
  create?: boolean | undefined;
}

/** Opens a client and, for files, switches the database to WAL (a persistent setting). */
export async function openClient(options: ClientOptions): Promise<Client> {
  const file = dbFilePath(options.url);
  let client: Client;
  try {
    if (file !== undefined && options.create !== false) {
      mkdirSync(dirname(file), { recursive: true });
    }
    client = createClient({
      url: options.url,
      authToken: options.authToken,
      // `PRAGMA busy_timeout` would reach one pooled connection only; this reaches all.
      timeout: options.busyTimeoutMs ?? 5000,
      intMode: "number",
    });
    if (file !== undefined) await switchToWal(client, options.busyTimeoutMs ?? 5000);
  } catch (error) {
    throw storageError(`Cannot open the database at ${options.url}`, error);
  }
  return client;
}

/**
 * Switches a file to WAL. The switch reads the header, then upgrades to a write
 * lock; SQLite skips the busy handler for that upgrade (it could deadlock), so
 * when another process holds the write lock of a file still in rollback mode,
 * as when two hosts create one database at once, it fails SQLITE_BUSY at once.
 * Retried here until the busy timeout; once the file is WAL this is a read.
 */
async function switchToWal(client: Client, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs; // monotonic: a clock set back cannot stretch it
  for (let wait = 2;; wait = Math.min(wait * 2, 100)) {
    try {
      await client.execute("PRAGMA journal_mode = WAL");
      return;
    } catch (error) {
      const busy = (error as { code?: unknown }).code === "SQLITE_BUSY";
      if (!busy || performance.now() + wait > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** Wraps a database failure in a HostError (exit 91, HTTP 503) that names what failed. */
export function storageError(what: string, error: unknown): HostError {
  if (error instanceof HostError) return error;
  const why = error instanceof Error ? error.message : String(error);
  return new HostError("storage_error", `${what}: ${why}`, { cause: error });
}
