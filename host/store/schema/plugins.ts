/**
 * The `plugins` table: installed plugins. Module bytes live in a
 * content-addressed folder by digest, not in the database.
 * @module
 */
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Whether an installed plugin may be called. */
export const pluginStates = ["enabled", "disabled"] as const;

/**
 * A row's states: an installed plugin's, or `uninstalled`, a row kept after
 * uninstall only so its id stays pinned to its signers (docs/signing.md). A
 * text column without a CHECK, so the extra value needs no migration.
 */
export const pluginRowStates = [...pluginStates, "uninstalled"] as const;

/** One row per installed plugin id, and per uninstalled id that keeps its signer pin. */
export const plugins = sqliteTable("plugins", {
  id: text("id").primaryKey(),
  version: text("version").notNull(),
  digest: text("digest").notNull(),
  /** JSON array of the key ids whose signatures verified. */
  signerKeyIds: text("signer_key_ids").notNull(),
  state: text("state", { enum: pluginRowStates }).notNull(),
  /**
   * JSON array of the key ids the plugin id is pinned to: the signers of its
   * first install, changed only by an explicit rekey (docs/signing.md), kept
   * across uninstall (state `uninstalled`) until `host plugins unpin`. A
   * version signed by none of them is refused. `[]` on rows from before the
   * pin: their signer_key_ids are the pin.
   */
  pinnedKeyIds: text("pinned_key_ids").notNull().default("[]"),
  installedAt: integer("installed_at").notNull(),
});
