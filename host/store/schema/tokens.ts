/**
 * The `api_tokens` table: bearer tokens of the HTTP API. Only a SHA-256 of
 * each token is kept; the token itself is shown once, when it is created.
 * @module
 */
import { integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** One row per token; revoked tokens stay (revoked_at set) so their use can be explained. */
export const apiTokens = sqliteTable("api_tokens", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** Hex SHA-256 of the whole token text. */
  tokenHash: text("token_hash").notNull(),
  /** JSON array of scopes: `admin`, `read`, `invoke` or `invoke:<plugin id>`. */
  scopes: text("scopes").notNull(),
  createdAt: integer("created_at").notNull(),
  /** Milliseconds since the epoch after which the token is refused; NULL: never. */
  expiresAt: integer("expires_at"),
  revokedAt: integer("revoked_at"),
}, (t) => [uniqueIndex("api_tokens_hash_idx").on(t.tokenHash)]);
