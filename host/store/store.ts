/**
 * `openStore`: opens the database, applies the embedded migrations, marks
 * runs of dead host processes interrupted, and hands out the repositories
 * (runs and events share one batching writer). Code outside store/ asks the
 * store for a repository and never runs SQL itself (docs/architecture.md).
 * @module
 */
import type { Client } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { existsSync } from "node:fs";
import { openClient, storageError } from "./client.ts";
import { gateWrites } from "./gated-client.ts";
import { DeliveryRepository } from "./delivery.ts";
import { ConfigRepository } from "./config.ts";
import { EventsRepository } from "./events.ts";
import { interruptRuns, markInterrupted, SHUTDOWN_MESSAGE } from "./interrupted.ts";
import { KvRepository } from "./kv.ts";
import { LeasesRepository } from "./leases.ts";
import { applyMigrations } from "./migrate.ts";
import { migrations } from "./migrations.ts";
import { isLargeBatch, opsStatements, type StoreDb, type WriteOp, writeOps } from "./ops.ts";
import { claimOwner, releaseOwner } from "./owner.ts";
import { PluginsRepository } from "./plugins.ts";
import { RegistryRepository } from "./registry.ts";
import { ReplayRepository } from "./replay.ts";
import { RunsRepository } from "./runs.ts";
import { SchedulesRepository } from "./schedules.ts";
import * as schema from "./schema/index.ts";
import { SecretsRepository } from "./secrets.ts";
import { TokensRepository } from "./tokens.ts";
import { ulid } from "./ulid.ts";
import { dbFilePath, isMemoryUrl, memoryUnsupported } from "./url.ts";
import { WriteConnection } from "./write-connection.ts";
import { SeqReader } from "./seq-reader.ts";
import type { Transact } from "./transact.ts";
import { BatchWriter, type WriterOptions, type WriterStats } from "./writer.ts";

/** How to open the store. */
export interface StoreOptions {
  /** `file:` URL (absolute; see resolveDbUrl) or `libsql://` URL; in-memory is refused. */
  url: string;
  /** Token for a libSQL server. */
  authToken?: string | undefined;
  /** How long a write waits for another process's lock, in ms (default 5000). */
  busyTimeoutMs?: number | undefined;
  /** Batching writer tuning. */
  writer?: WriterOptions | undefined;
  /** Inputs up to this size are kept in RunRecords (default 65536 bytes). */
  inputMaxBytes?: number | undefined;
  /** Called on every failed write attempt (besides the host event it becomes). */
  onWriteError?:
    | ((error: unknown, detail: { attempt: number; final: boolean }) => void)
    | undefined;
}

/** The open store. */
export interface Store {
  readonly url: string;
  readonly events: EventsRepository;
  readonly runs: RunsRepository;
  readonly kv: KvRepository;
  readonly plugins: PluginsRepository;
  readonly schedules: SchedulesRepository;
  readonly leases: LeasesRepository;
  readonly tokens: TokensRepository;
  /** Registry artifacts and this host's install history. */
  readonly registry: RegistryRepository;
  /** Event delivery: subscriber cursors, delivery rows, dead letters (docs/delivery.md). */
  readonly delivery: DeliveryRepository;
  /** Versions of the values operators set per plugin (host/store/config.ts). */
  readonly config: ConfigRepository;
  /** Plugin secrets, sealed (host secrets set). */
  readonly secrets: SecretsRepository;
  /** Replay records of runs (docs/replay.md). */
  readonly replay: ReplayRepository;
  /** Drizzle over the same client, for queries the repositories do not cover. */
  readonly db: StoreDb;
  readonly client: Client;
  /** Migration tags applied by this open, and run ids marked interrupted by it. */
  readonly opened: { migrated: string[]; interrupted: string[] };
  /** The batching writer's counters. */
  readonly writerStats: WriterStats;
  /** Resolves once everything queued so far is committed. */
  flush(): Promise<void>;
  /** Rejects (HostError `storage_error`) when the database does not answer a trivial query. */
  ping(): Promise<void>;
  /**
   * Marks these runs `interrupted` if still `running`, each with a
   * `run.interrupted` event (a host that stops gives up on them); returns the
   * ids it marked. Waits for their queued writes first.
   */
  interruptRuns(runIds: readonly string[]): Promise<string[]>;
  /** Drains the queue, then closes the database. */
  close(): Promise<void>;
}

/** Opens (creating and migrating when needed) the host database. */
export async function openStore(options: StoreOptions): Promise<Store> {
  if (isMemoryUrl(options.url)) throw memoryUnsupported(options.url);
  const rawClient = await openClient({
    url: options.url,
    authToken: options.authToken,
    busyTimeoutMs: options.busyTimeoutMs,
  });
  // Until the write connection exists, nothing else writes: the raw client is safe.
  let client = rawClient;
  let closeWriter: (() => void) | undefined;
  let reader: SeqReader | undefined;
  try {
    const migrated = await applyMigrations(client, migrations);
    const owner = claimOwner(ulid());
    const interrupted = await markInterrupted(client, owner).catch((error: unknown) => {
      throw storageError("Cannot mark interrupted runs", error);
    });
    // The writer's own connection, so a reconnect after a failed flush touches nothing else.
    // A local file gets its own driver connections: large batches commit on libSQL's thread,
    // small ones through statements kept prepared (write-connection.ts). KV writes share it,
    // so their COMMIT leaves the event loop too.
    const file = dbFilePath(options.url);
    let write: (ops: WriteOp[]) => Promise<void>;
    let transact: Transact | undefined;
    if (file !== undefined) {
      const connection = new WriteConnection(file, options.busyTimeoutMs ?? 5000);
      closeWriter = () => connection.close();
      reader = new SeqReader(file);
      write = async (ops) => await connection.write(opsStatements(ops), isLargeBatch(ops));
      transact = (statements) => connection.transact(statements);
      client = gateWrites(rawClient, (task) => connection.exclusive(task));
    } else {
      const ownWriteClient = await openClient({
        url: options.url,
        authToken: options.authToken,
        busyTimeoutMs: options.busyTimeoutMs,
      });
      closeWriter = () => ownWriteClient.close();
      write = async (ops) => {
        try {
          await writeOps(ownWriteClient, ops);
        } catch (error) {
          // After a failed BEGIN (e.g. SQLITE_BUSY) libsql 0.18 can leave the pooled connection
          // with a statement in progress, so every later COMMIT on it fails. Fresh connections
          // fix that; the writer owns this client alone, so nothing else is cut off.
          await ownWriteClient.reconnect();
          throw error;
        }
      };
    }
    const writer: BatchWriter<WriteOp> = new BatchWriter(
      write,
      options.writer,
      {
        onRetry(error, attempt, items, delayMs) {
          options.onWriteError?.(error, { attempt, final: false });
          report(events, "store.write_retried", "warn", error, {
            attempt,
            items: items.length,
            delayMs,
          });
        },
        onFailure(error, items) {
          options.onWriteError?.(error, { attempt: 0, final: true });
          // Never report the failure of a failure report: that could loop while the database is down.
          if (items.some((op) => op.kind === "event" && op.row.type === "store.write_failed")) {
            return;
          }
          report(events, "store.write_failed", "error", error, { items: items.length });
        },
      },
    );
    const db: StoreDb = drizzle(client, { schema });
    const kv = new KvRepository(client, transact);
    await kv.dropStaleStaged();
    // The hooks above run only after this line, when a write has failed.
    const events = new EventsRepository(db, writer);
    const store: Store = {
      url: options.url,
      events,
      runs: new RunsRepository(db, writer, owner, options.inputMaxBytes ?? 65_536),
      kv,
      plugins: await PluginsRepository.open(db),
      schedules: new SchedulesRepository(db),
      leases: new LeasesRepository(client),
      tokens: new TokensRepository(db),
      registry: new RegistryRepository(db),
      delivery: new DeliveryRepository(client),
      config: new ConfigRepository(db, reader),
      secrets: new SecretsRepository(db),
      replay: new ReplayRepository(db, writer),
      db,
      client,
      opened: { migrated, interrupted },
      writerStats: writer.stats,
      flush: () => writer.flush(),
      async ping() {
        try {
          await client.execute("SELECT 1");
        } catch (error) {
          throw storageError("The store is unreachable", error);
        }
      },
      async interruptRuns(runIds) {
        if (runIds.length === 0) return [];
        // Their `running` rows may still sit in the writer's queue.
        await writer.flush();
        try {
          const interrupted = await interruptRuns(client, runIds, SHUTDOWN_MESSAGE);
          store.runs.noteInterrupted(interrupted);
          return interrupted;
        } catch (error) {
          throw storageError("Cannot mark interrupted runs", error);
        }
      },
      async close() {
        store.plugins.close();
        try {
          await writer.close();
        } finally {
          releaseOwner(owner);
          reader?.close();
          closeWriter?.();
          client.close();
        }
      },
    };
    return store;
  } catch (error) {
    closeWriter?.();
    client.close();
    throw storageError(`Cannot open the store at ${options.url}`, error);
  }
}

/**
 * Opens the store only if it exists: for a `file:` URL whose file is missing,
 * returns undefined instead of creating it (read-only commands use this).
 */
export async function openExistingStore(options: StoreOptions): Promise<Store | undefined> {
  const file = dbFilePath(options.url);
  if (file !== undefined && !existsSync(file)) return undefined;
  return await openStore(options);
}

function report(
  events: EventsRepository,
  type: string,
  level: "warn" | "error",
  error: unknown,
  payload: Record<string, number>,
): void {
  const message = error instanceof Error ? error.message : String(error);
  void events.append({ type, level, source: "host", payload: { ...payload, error: message } })
    .catch(() => {});
}
