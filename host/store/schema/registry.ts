/**
 * Registry tables: the artifacts a host serving as a registry keeps (by
 * digest, with provenance and channel), and the install history every host
 * keeps so `host rollback` can go back to the previous digest.
 * @module
 */
import { blob, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Release channels, least to most stable. */
export const registryChannels = ["draft", "beta", "ga"] as const;

/** One row per published artifact; (plugin_id, version) is immutable once published. */
export const registryArtifacts = sqliteTable("registry_artifacts", {
  /** Hex SHA-256 of the signed message (host/artifact signedDigest), as installs record it. */
  digest: text("digest").primaryKey(),
  pluginId: text("plugin_id").notNull(),
  version: text("version").notNull(),
  /** The embedded manifest as JSON (search, dependencies, permission diffs). */
  manifest: text("manifest").notNull(),
  /** JSON array of the key ids whose signatures the registry verified at publish. */
  signerKeyIds: text("signer_key_ids").notNull(),
  sourceUrl: text("source_url"),
  changelog: text("changelog"),
  /** The name of the token that published it. */
  publisher: text("publisher").notNull(),
  publishedAt: integer("published_at").notNull(),
  channel: text("channel", { enum: registryChannels }).notNull(),
  /** Last promotion or yank, ms since the epoch. */
  updatedAt: integer("updated_at").notNull(),
  yankedAt: integer("yanked_at"),
  yankReason: text("yank_reason"),
  size: integer("size").notNull(),
  bytes: blob("bytes", { mode: "buffer" }).notNull(),
}, (t) => [
  uniqueIndex("registry_artifacts_version_idx").on(t.pluginId, t.version),
  index("registry_artifacts_updated_idx").on(t.updatedAt),
]);

/** Every install on this host (newest last): what `host rollback` goes back to. */
export const pluginInstalls = sqliteTable("plugin_installs", {
  seq: integer("seq").primaryKey({ autoIncrement: true }),
  pluginId: text("plugin_id").notNull(),
  version: text("version").notNull(),
  digest: text("digest").notNull(),
  /** Where it came from: a registry URL, a file path, `upload`, `rollback`. */
  source: text("source").notNull(),
  installedAt: integer("installed_at").notNull(),
}, (t) => [index("plugin_installs_plugin_idx").on(t.pluginId, t.seq)]);
