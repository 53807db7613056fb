/**
 * The plugins repository: which plugins are installed, at which version and
 * digest, signed by whom, and whether they are enabled; and the signer pin of
 * every id ever installed, which outlives uninstall (docs/signing.md).
 * @module
 */
import { and, asc, eq, gt, lt, ne } from "drizzle-orm";
import { z } from "zod";
import { HostError } from "../errors.ts";
import { storageError } from "./client.ts";
import type { StoreDb } from "./ops.ts";
import { plugins, pluginStates } from "./schema/index.ts";

/** An installed plugin as callers write it. */
export const PluginInput = z.object({
  id: z.string().min(1).max(200),
  version: z.string().min(1).max(100),
  digest: z.string().min(1).max(200),
  signerKeyIds: z.array(z.string()).default([]),
  /** The signer pin (default: the signers). */
  pinnedKeyIds: z.array(z.string()).optional(),
  state: z.enum(pluginStates).default("enabled"),
});
export type PluginInput = z.input<typeof PluginInput>;

/** An installed plugin as the store returns it. */
export interface InstalledPlugin {
  id: string;
  version: string;
  digest: string;
  signerKeyIds: string[];
  /** The keys this id is pinned to (see docs/signing.md, "Signer pinning"). */
  pinnedKeyIds: string[];
  state: (typeof pluginStates)[number];
  installedAt: string;
}

/** Rows of installed plugins (uninstalled ids keep a row only for their pin). */
const installed = ne(plugins.state, "uninstalled");

/**
 * How often the in-memory set of installed ids is read again while the store
 * is open (`isInstalled`): another process (`host install` beside `host
 * serve`) writes the same database, and this process cannot hear it.
 */
export const INSTALLED_IDS_REFRESH_MS = 1_000;

/** Installed plugins, one row per plugin id. */
export class PluginsRepository {
  readonly #db: StoreDb;
  /** Installed ids, read at open, kept by put/remove and read again on a timer (`isInstalled`). */
  #ids: Set<string>;
  /** Reads the set again every INSTALLED_IDS_REFRESH_MS from `open` until `close`. */
  #timer: ReturnType<typeof setInterval> | undefined;
  #refreshing = false;
  #closed = false;
  /** Bumped as each write of this process begins and ends: a read that overlaps one is not trusted. */
  #writes = 0;

  /** Used by openStore (through `open`); callers get the instance as `store.plugins`. */
  constructor(db: StoreDb, installedIds: Iterable<string> = []) {
    this.#db = db;
    this.#ids = new Set(installedIds);
  }

  /** The repository with its installed ids read once. */
  static async open(db: StoreDb): Promise<PluginsRepository> {
    const repo = new PluginsRepository(db);
    for (const p of await repo.list()) repo.#ids.add(p.id);
    repo.#timer = setInterval(() => void repo.#refresh(), INSTALLED_IDS_REFRESH_MS);
    (repo.#timer as { unref?: () => void }).unref?.();
    return repo;
  }

  /**
   * Whether `id` is installed, from memory: event_publish asks on every call
   * (capabilities/events.ts). This process's own writes show at once; another
   * process's install or uninstall on the same database shows within about
   * {@link INSTALLED_IDS_REFRESH_MS}: a timer (which does not keep the process
   * alive) reads the ids again that often while the store is open.
   */
  isInstalled(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Stops the refresh timer (the store closes). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  async #refresh(): Promise<void> {
    if (this.#refreshing || this.#closed) return;
    this.#refreshing = true;
    const writes = this.#writes;
    try {
      const rows = await this.#db.select({ id: plugins.id }).from(plugins).where(installed);
      // A write of this process's own overlapped the read: its rows may predate it; the next
      // refresh reads again.
      if (this.#writes === writes) this.#ids = new Set(rows.map((r) => r.id));
    } catch {
      // The store closed, or is failing: keep the set (every other read reports the failure).
    } finally {
      this.#refreshing = false;
    }
  }

  /** Installs or replaces a plugin (same id: the new version replaces the old, or an uninstalled id's pin row). */
  async put(input: PluginInput): Promise<InstalledPlugin> {
    const parsed = PluginInput.safeParse(input);
    if (!parsed.success) {
      throw new HostError(
        "invalid_input",
        `Invalid plugin record: ${z.prettifyError(parsed.error)}`,
      );
    }
    const row = {
      ...parsed.data,
      signerKeyIds: JSON.stringify(parsed.data.signerKeyIds),
      pinnedKeyIds: JSON.stringify(parsed.data.pinnedKeyIds ?? parsed.data.signerKeyIds),
      installedAt: Date.now(),
    };
    this.#writes++;
    try {
      await this.#run(
        "write plugins",
        () =>
          this.#db.insert(plugins).values(row).onConflictDoUpdate({ target: plugins.id, set: row }),
      );
    } finally {
      this.#writes++;
    }
    this.#ids.add(row.id);
    return toPlugin(row);
  }

  /** One plugin by id, or undefined. */
  async get(id: string): Promise<InstalledPlugin | undefined> {
    const rows = await this.#run(
      "read plugins",
      () => this.#db.select().from(plugins).where(and(eq(plugins.id, id), installed)).limit(1),
    );
    return rows[0] === undefined ? undefined : toPlugin(rows[0]);
  }

  /**
   * The keys `id` is pinned to, installed or not (a pin outlives uninstall);
   * undefined when the id was never installed or its pin was forgotten.
   */
  async pin(id: string): Promise<string[] | undefined> {
    const rows = await this.#run(
      "read plugins",
      () => this.#db.select().from(plugins).where(eq(plugins.id, id)).limit(1),
    );
    return rows[0] === undefined ? undefined : pinOf(rows[0]);
  }

  /** Every installed plugin, by id. */
  async list(): Promise<InstalledPlugin[]> {
    const rows = await this.#run(
      "read plugins",
      () => this.#db.select().from(plugins).where(installed).orderBy(asc(plugins.id)),
    );
    return rows.map(toPlugin);
  }

  /** Enables or disables a plugin; false when it is not installed. */
  async setState(id: string, state: InstalledPlugin["state"]): Promise<boolean> {
    const result = await this.#run(
      "write plugins",
      () => this.#db.update(plugins).set({ state }).where(and(eq(plugins.id, id), installed)),
    );
    return result.rowsAffected > 0;
  }

  /** Pins a plugin id to `keyIds` (an operator's rekey), installed or not; false when it has no row. */
  async setPinnedKeys(id: string, keyIds: string[]): Promise<boolean> {
    const result = await this.#run(
      "write plugins",
      () =>
        this.#db.update(plugins).set({ pinnedKeyIds: JSON.stringify(keyIds) }).where(
          eq(plugins.id, id),
        ),
    );
    return result.rowsAffected > 0;
  }

  /**
   * Uninstalls a plugin: its record goes, its pin stays (the row is kept in
   * state `uninstalled`); false when it was not installed.
   */
  async remove(id: string): Promise<boolean> {
    this.#writes++;
    let removed = 0;
    try {
      const result = await this.#run(
        "write plugins",
        () =>
          this.#db.update(plugins).set({ state: "uninstalled" }).where(
            and(eq(plugins.id, id), installed),
          ),
      );
      removed = result.rowsAffected;
    } finally {
      this.#writes++;
    }
    this.#ids.delete(id);
    return removed > 0;
  }

  /**
   * The pins of the ids inside `id`'s namespace (`id.` followed by anything),
   * installed or not, by id: an install checks that nested ids share a signer.
   */
  async pinsUnder(id: string): Promise<Map<string, string[]>> {
    // '/' sorts right after '.', so the range is exactly the ids starting with `id.`.
    const rows = await this.#run(
      "read plugins",
      () =>
        this.#db.select().from(plugins).where(
          and(gt(plugins.id, `${id}.`), lt(plugins.id, `${id}/`)),
        ),
    );
    return new Map(rows.map((r) => [r.id, pinOf(r)]));
  }

  /** Forgets the pin of an uninstalled id (an operator's step); false when it has none or is installed. */
  async forgetPin(id: string): Promise<boolean> {
    const result = await this.#run(
      "write plugins",
      () =>
        this.#db.delete(plugins).where(and(eq(plugins.id, id), eq(plugins.state, "uninstalled"))),
    );
    return result.rowsAffected > 0;
  }

  async #run<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw storageError(`Cannot ${what}`, error);
    }
  }
}

type PluginRow = typeof plugins.$inferSelect;

function toPin(row: Pick<PluginRow, "signerKeyIds" | "pinnedKeyIds">) {
  return {
    signerKeyIds: z.array(z.string()).parse(JSON.parse(row.signerKeyIds)),
    pinnedKeyIds: z.array(z.string()).parse(JSON.parse(row.pinnedKeyIds)),
  };
}

/** A row's pin: its pinned keys, or its signers when it has none recorded. */
function pinOf(row: Pick<PluginRow, "signerKeyIds" | "pinnedKeyIds">): string[] {
  const p = toPin(row);
  return p.pinnedKeyIds.length > 0 ? p.pinnedKeyIds : p.signerKeyIds;
}

/** An installed row (the queries above exclude `uninstalled` ones). */
function toPlugin(row: PluginRow): InstalledPlugin {
  const state = z.enum(pluginStates).parse(row.state);
  return {
    id: row.id,
    version: row.version,
    digest: row.digest,
    ...toPin(row),
    state,
    installedAt: new Date(row.installedAt).toISOString(),
  };
}
