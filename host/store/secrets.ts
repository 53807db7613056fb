/**
 * The plugin secrets repository: sealed (encrypted) values per plugin and
 * name, with a version per name. It stores and returns ciphertext only;
 * sealing and opening are host/capabilities/secret-vault.ts's.
 * @module
 */
import { Buffer } from "node:buffer";
import { and, asc, eq } from "drizzle-orm";
import { storageError } from "./client.ts";
import type { StoreDb } from "./ops.ts";
import { pluginSecrets } from "./schema/index.ts";

/** A sealed value as stored. */
export interface SealedSecret {
  ciphertext: Uint8Array;
  iv: Uint8Array;
  keyId: string;
}

/** A stored secret with its sealed value. */
export interface StoredSecret extends SealedSecret {
  pluginId: string;
  name: string;
  version: number;
}

/** What `list` shows: never a value, sealed or not. */
export interface SecretListing {
  pluginId: string;
  name: string;
  version: number;
  keyId: string;
  updatedAt: string;
}

/** Reads and writes `plugin_secrets`. */
export class SecretsRepository {
  readonly #db: StoreDb;

  constructor(db: StoreDb) {
    this.#db = db;
  }

  /** The version the next `put` of this name will write (1 for a new name). */
  async nextVersion(pluginId: string, name: string): Promise<number> {
    const rows = await this.#run(
      "read plugin secrets",
      () =>
        this.#db.select({ version: pluginSecrets.version }).from(pluginSecrets)
          .where(and(eq(pluginSecrets.pluginId, pluginId), eq(pluginSecrets.name, name))),
    );
    return (rows[0]?.version ?? 0) + 1;
  }

  /**
   * Stores `sealed` as `version` of the name, replacing the previous one.
   * False when another writer stored that version first (seal again with the next).
   */
  async put(
    pluginId: string,
    name: string,
    version: number,
    sealed: SealedSecret,
  ): Promise<boolean> {
    const row = {
      pluginId,
      name,
      version,
      ciphertext: Buffer.from(sealed.ciphertext),
      iv: Buffer.from(sealed.iv),
      keyId: sealed.keyId,
      updatedAt: Date.now(),
    };
    return await this.#run("write plugin secrets", async () => {
      if (version === 1) {
        const inserted = await this.#db.insert(pluginSecrets).values(row).onConflictDoNothing()
          .returning({ version: pluginSecrets.version });
        return inserted.length > 0;
      }
      const updated = await this.#db.update(pluginSecrets).set(row).where(
        and(
          eq(pluginSecrets.pluginId, pluginId),
          eq(pluginSecrets.name, name),
          eq(pluginSecrets.version, version - 1),
        ),
      ).returning({ version: pluginSecrets.version });
      return updated.length > 0;
    });
  }

  /** Removes a name; false when it was not set. */
  async remove(pluginId: string, name: string): Promise<boolean> {
    const rows = await this.#run("write plugin secrets", () =>
      this.#db.delete(pluginSecrets).where(
        and(eq(pluginSecrets.pluginId, pluginId), eq(pluginSecrets.name, name)),
      ).returning({ name: pluginSecrets.name }));
    return rows.length > 0;
  }

  /** Every sealed secret of a plugin. */
  async sealed(pluginId: string): Promise<StoredSecret[]> {
    const rows = await this.#run(
      "read plugin secrets",
      () => this.#db.select().from(pluginSecrets).where(eq(pluginSecrets.pluginId, pluginId)),
    );
    return rows.map((r) => ({
      pluginId: r.pluginId,
      name: r.name,
      version: r.version,
      ciphertext: new Uint8Array(r.ciphertext),
      iv: new Uint8Array(r.iv),
      keyId: r.keyId,
    }));
  }

  /** Names and versions, of one plugin or all, by plugin and name. */
  async list(pluginId?: string): Promise<SecretListing[]> {
    const rows = await this.#run("read plugin secrets", () =>
      this.#db.select({
        pluginId: pluginSecrets.pluginId,
        name: pluginSecrets.name,
        version: pluginSecrets.version,
        keyId: pluginSecrets.keyId,
        updatedAt: pluginSecrets.updatedAt,
      }).from(pluginSecrets)
        .where(pluginId === undefined ? undefined : eq(pluginSecrets.pluginId, pluginId))
        .orderBy(asc(pluginSecrets.pluginId), asc(pluginSecrets.name)));
    return rows.map((r) => ({ ...r, updatedAt: new Date(r.updatedAt).toISOString() }));
  }

  async #run<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw storageError(`Cannot ${what}`, error);
    }
  }
}
