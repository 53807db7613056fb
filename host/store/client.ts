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
    if (file !== undefined) await client.execute("PRAGMA journal_mode = WAL");
  } catch (error) {
    throw storageError(`Cannot open the database at ${options.url}`, error);
  }
  return client;
}

/** Wraps a database failure in a HostError (exit 91, HTTP 503) that names what failed. */
export function storageError(what: string, error: unknown): HostError {
  if (error instanceof HostError) return error;
  const why = error instanceof Error ? error.message : String(error);
  return new HostError("storage_error", `${what}: ${why}`, { cause: error });
}
