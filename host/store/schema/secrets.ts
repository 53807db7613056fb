/**
 * The `plugin_secrets` table: secrets operators set per plugin
 * (`host secrets set`), encrypted at rest with AES-256-GCM under the key in
 * `PLUGHOST_SECRETS_KEY` (host/capabilities/secret-vault.ts). The database
 * never holds a value in clear.
 * @module
 */
import { blob, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** One row per plugin and secret name; `version` counts its sets (a rotation is a new version). */
export const pluginSecrets = sqliteTable("plugin_secrets", {
  pluginId: text("plugin_id").notNull(),
  name: text("name").notNull(),
  version: integer("version").notNull(),
  /** AES-256-GCM ciphertext and tag; the plugin id, name and version are its additional data. */
  ciphertext: blob("ciphertext", { mode: "buffer" }).notNull(),
  /** The 12-byte GCM nonce, random per write. */
  iv: blob("iv", { mode: "buffer" }).notNull(),
  /** Which key sealed it (first bytes of its SHA-256), to name a wrong key clearly. */
  keyId: text("key_id").notNull(),
  updatedAt: integer("updated_at").notNull(),
}, (t) => [primaryKey({ columns: [t.pluginId, t.name] })]);
