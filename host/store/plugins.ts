/**
 * The plugins repository: which plugins are installed, at which version and
 * digest, signed by whom, and whether they are enabled; and the signer pin of
 * every id ever installed, which outlives uninstall (docs/signing.md).
 * @module
 */
import { and, asc, eq, ne } from "drizzle-orm";
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

/** Installed plugins, one row per plugin id. */
export class PluginsRepository {
  readonly #db: StoreDb;

  /** Used by openStore; callers get the instance as `store.plugins`. */
  constructor(db: StoreDb) {
    this.#db = db;
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
    await this.#run(
      "write plugins",
      () =>
        this.#db.insert(plugins).values(row).onConflictDoUpdate({ target: plugins.id, set: row }),
    );
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
    if (rows[0] === undefined) return undefined;
    const p = toPin(rows[0]);
    return p.pinnedKeyIds.length > 0 ? p.pinnedKeyIds : p.signerKeyIds;
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
    const result = await this.#run(
      "write plugins",
      () =>
        this.#db.update(plugins).set({ state: "uninstalled" }).where(
          and(eq(plugins.id, id), installed),
        ),
    );
    return result.rowsAffected > 0;
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
