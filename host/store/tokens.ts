/**
 * The API tokens repository: bearer tokens for the HTTP API with scopes.
 * Tokens are random (256 bits), shown once at creation and stored only as a
 * SHA-256, so a leaked database does not leak usable tokens. Construct it
 * over an open store: `new TokensRepository(store.db)`.
 * @module
 */
import { randomBytes } from "node:crypto";
import { sha256HexSync } from "../artifact/mod.ts";
import { and, desc, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import { HostError } from "../errors.ts";
import { storageError } from "./client.ts";
import type { StoreDb } from "./ops.ts";
import { apiTokens } from "./schema/index.ts";
import { ulid } from "./ulid.ts";

/**
 * A scope: `admin` (everything), `read`, `invoke`, `invoke:<plugin id>` (that
 * plugin only), `registry:publish` or `registry:admin` (a registry's publishers and curators).
 */
export const TokenScope = z.string().regex(
  /^(admin|read|invoke|invoke:[A-Za-z0-9][A-Za-z0-9._-]{0,199}|registry:publish|registry:admin)$/,
  "a scope is admin, read, invoke, invoke:<plugin id>, registry:publish or registry:admin",
);
export type TokenScope = z.infer<typeof TokenScope>;

/** What `create` takes. */
export const TokenInput = z.object({
  name: z.string().min(1).max(200),
  scopes: z.array(TokenScope).min(1, "give at least one scope"),
  /** Milliseconds since the epoch; omitted: never expires. */
  expiresAt: z.number().int().positive().optional(),
});
export type TokenInput = z.input<typeof TokenInput>;

/** A stored token (never its secret). */
export interface ApiToken {
  id: string;
  name: string;
  scopes: TokenScope[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** Prefix of every token, so secret scanners and people can recognise one. */
export const TOKEN_PREFIX = "plh_";

/** Hex SHA-256 of a token's text, as stored. */
export function hashToken(token: string): string {
  return sha256HexSync(token);
}

/** Creates, finds, lists and revokes API tokens. */
export class TokensRepository {
  readonly #db: StoreDb;

  /** Over an open store's database: `new TokensRepository(store.db)`. */
  constructor(db: StoreDb) {
    this.#db = db;
  }

  /** Creates a token; the returned `token` text is the only time it is seen. */
  async create(input: TokenInput): Promise<{ token: string; record: ApiToken }> {
    const parsed = TokenInput.safeParse(input);
    if (!parsed.success) {
      throw new HostError("invalid_input", `Invalid token: ${z.prettifyError(parsed.error)}`);
    }
    const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
    const row = {
      id: ulid(),
      name: parsed.data.name,
      tokenHash: hashToken(token),
      scopes: JSON.stringify([...new Set(parsed.data.scopes)]),
      createdAt: Date.now(),
      expiresAt: parsed.data.expiresAt ?? null,
      revokedAt: null,
    };
    await this.#run("write api tokens", () => this.#db.insert(apiTokens).values(row));
    return { token, record: toToken(row) };
  }

  /**
   * The token with this text, if it exists and is neither revoked nor
   * expired at `now`; undefined otherwise.
   */
  async verify(token: string, now: number = Date.now()): Promise<ApiToken | undefined> {
    const rows = await this.#run(
      "read api tokens",
      () =>
        this.#db.select().from(apiTokens).where(eq(apiTokens.tokenHash, hashToken(token))).limit(1),
    );
    const row = rows[0];
    if (!row || row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt <= now)) {
      return undefined;
    }
    return toToken(row);
  }

  /** Every token, newest first. */
  async list(): Promise<ApiToken[]> {
    const rows = await this.#run(
      "read api tokens",
      () => this.#db.select().from(apiTokens).orderBy(desc(apiTokens.id)),
    );
    return rows.map(toToken);
  }

  /** Revokes a token by id; false when there is no such token or it was revoked already. */
  async revoke(id: string): Promise<boolean> {
    const rows = await this.#run(
      "write api tokens",
      () =>
        this.#db.update(apiTokens).set({ revokedAt: Date.now() }).where(
          and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)),
        )
          .returning({ revokedAt: apiTokens.revokedAt }),
    );
    return rows.length > 0;
  }

  async #run<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw storageError(`Cannot ${what}`, error);
    }
  }
}

function toToken(row: typeof apiTokens.$inferSelect): ApiToken {
  return {
    id: row.id,
    name: row.name,
    scopes: z.array(TokenScope).parse(JSON.parse(row.scopes)),
    createdAt: new Date(row.createdAt).toISOString(),
    expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
    revokedAt: row.revokedAt === null ? null : new Date(row.revokedAt).toISOString(),
  };
}
