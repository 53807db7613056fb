/**
 * The plugin config repository: versions of the values operators set per
 * plugin and environment (table `plugin_config`). Writes are optimistic: a
 * change names the version it was made from, and a concurrent change from
 * another host makes it fail with `conflict` instead of being lost.
 * @module
 */
import { and, desc, eq, max, sql } from "drizzle-orm";
import { HostError } from "../errors.ts";
import { storageError } from "./client.ts";
import type { StoreDb } from "./ops.ts";
import { WalIndex } from "./wal-index.ts";
import type { SeqReader } from "./seq-reader.ts";
import { pluginConfig } from "./schema/index.ts";

/** The values of one plugin in one scope at one version. */
export interface ConfigVersion {
  pluginId: string;
  /** `""` for the base, else the environment overlay's name. */
  env: string;
  version: number;
  values: Record<string, unknown>;
  changedAt: string;
  changedBy: string;
  /** Database-wide order of changes. */
  seq: number;
}

/** What `append` stores. */
export interface ConfigChange {
  pluginId: string;
  env: string;
  values: Record<string, unknown>;
  changedBy: string;
  /** The version the values were computed from (0: none yet). */
  after: number;
}

/** Stored plugin config, versioned. */
export class ConfigRepository {
  readonly #db: StoreDb;

  /** Built once: every run reads it (plugin-configs.ts), and building the query cost more than running it. */
  readonly #latestSeq;

  /** The same read on a connection of its own (a local file only); see seq-reader.ts. */
  readonly #reader: SeqReader | undefined;

  /** Used by openStore; callers get the instance as `store.config`. */
  constructor(db: StoreDb, reader?: SeqReader) {
    this.#db = db;
    this.#reader = reader;
    this.#latestSeq = db.select({ seq: max(pluginConfig.seq) }).from(pluginConfig).where(
      eq(pluginConfig.pluginId, sql.placeholder("pluginId")),
    ).prepare();
  }

  /** The database's WAL index (null: no local file, e.g. in memory); found on first use. */
  #wal: Promise<WalIndex | null> | undefined;
  /** Seqs read while the files had stamp `#stamp`: still true while the stamp holds. */
  readonly #seqs = new Map<string, number>();
  #stamp: string | null = null;

  /**
   * The newest change's sequence number for a plugin (0: never configured).
   * Every run asks: one indexed read, skipped while the WAL index shows no
   * commit since the last read (wal-index.ts), so a change made by any host
   * sharing the database is seen at the next call all the same.
   */
  async latestSeq(pluginId: string): Promise<number> {
    const wal = await (this.#wal ??= this.#walIndex());
    const stamp = wal?.stamp() ?? null;
    if (stamp !== null && stamp === this.#stamp) {
      const seq = this.#seqs.get(pluginId);
      if (seq !== undefined) return seq;
    }
    const seq = this.#reader?.latestSeq(pluginId) ??
      (await this.#run("read plugin config", () => this.#latestSeq.all({ pluginId })))[0]?.seq ??
      0;
    // Taken before the read: a commit after the stamp shows in the next one.
    if (stamp !== this.#stamp) {
      this.#seqs.clear();
      this.#stamp = stamp;
    }
    if (stamp !== null) this.#seqs.set(pluginId, seq);
    return seq;
  }

  /** The main database's WAL index, when it is a file on this machine. */
  async #walIndex(): Promise<WalIndex | null> {
    try {
      const rows = await this.#db.all<{ name: string; file: string }>(sql`PRAGMA database_list`);
      const file = rows.find((r) => r.name === "main")?.file;
      return file ? new WalIndex(file) : null;
    } catch {
      return null;
    }
  }

  /** The newest version in a scope, or null when it was never set. */
  async latest(pluginId: string, env: string): Promise<ConfigVersion | null> {
    const rows = await this.#run(
      "read plugin config",
      () =>
        this.#db.select().from(pluginConfig)
          .where(and(eq(pluginConfig.pluginId, pluginId), eq(pluginConfig.env, env)))
          .orderBy(desc(pluginConfig.version)).limit(1),
    );
    return rows[0] ? toVersion(rows[0]) : null;
  }

  /** Every version of a plugin's config (one scope when `env` is given), newest first. */
  async history(pluginId: string, env?: string): Promise<ConfigVersion[]> {
    const where = env === undefined
      ? eq(pluginConfig.pluginId, pluginId)
      : and(eq(pluginConfig.pluginId, pluginId), eq(pluginConfig.env, env));
    const rows = await this.#run(
      "read plugin config",
      () => this.#db.select().from(pluginConfig).where(where).orderBy(desc(pluginConfig.seq)),
    );
    return rows.map(toVersion);
  }

  /** The environment overlays a plugin has (not the base). */
  async overlays(pluginId: string): Promise<string[]> {
    const rows = await this.#run(
      "read plugin config",
      () =>
        this.#db.selectDistinct({ env: pluginConfig.env }).from(pluginConfig).where(
          eq(pluginConfig.pluginId, pluginId),
        ),
    );
    return rows.map((r) => r.env).filter((e) => e !== "").sort();
  }

  /**
   * Stores the next version of a scope. Throws `conflict` when the scope
   * moved past `after` meanwhile (another host or operator changed it).
   */
  async append(change: ConfigChange): Promise<ConfigVersion> {
    const row = {
      pluginId: change.pluginId,
      env: change.env,
      version: change.after + 1,
      values: JSON.stringify(change.values),
      changedAt: Date.now(),
      changedBy: change.changedBy,
    };
    let inserted;
    try {
      inserted = await this.#db.insert(pluginConfig).values(row).returning();
    } catch (error) {
      if (/UNIQUE/i.test(String((error as { cause?: unknown }).cause ?? error))) {
        throw new HostError(
          "conflict",
          `The config of '${change.pluginId}'${
            change.env ? ` (env ${change.env})` : ""
          } changed meanwhile (now past version ${change.after}); read it again and retry`,
        );
      }
      throw storageError("Cannot write plugin config", error);
    } finally {
      this.#seqs.clear();
      this.#stamp = null;
    }
    return toVersion(inserted[0]!);
  }

  async #run<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw storageError(`Cannot ${what}`, error);
    }
  }
}

function toVersion(row: typeof pluginConfig.$inferSelect): ConfigVersion {
  return {
    pluginId: row.pluginId,
    env: row.env,
    version: row.version,
    values: JSON.parse(row.values) as Record<string, unknown>,
    changedAt: new Date(row.changedAt).toISOString(),
    changedBy: row.changedBy,
    seq: row.seq,
  };
}
