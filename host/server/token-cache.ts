/**
 * Token lookups for every request, cached briefly so a busy client costs one
 * hash and a map lookup, not a query. A revoked token stops working within
 * `ttlMs` (default 5 s) in every server process.
 * @module
 */
import type { ApiToken, TokensRepository } from "../store/mod.ts";

/** Finds the token for a bearer string, or undefined. */
export interface TokenVerifier {
  verify(token: string): Promise<ApiToken | undefined>;
  /** The token if this process verified it within its cache time (no lookup), else undefined. */
  known?(token: string): ApiToken | undefined;
}

/** Caches a repository's positive answers for `ttlMs` (at most `maxEntries` tokens). */
export function cachedVerifier(
  repository: Pick<TokensRepository, "verify">,
  options: { ttlMs?: number; maxEntries?: number } = {},
): TokenVerifier {
  const ttl = options.ttlMs ?? 5000;
  const max = options.maxEntries ?? 10_000;
  const cache = new Map<string, { token: ApiToken; until: number }>();
  return {
    known(text) {
      const now = Date.now();
      const hit = cache.get(text);
      if (!hit || hit.until <= now) return undefined;
      const expires = hit.token.expiresAt === null ? Infinity : Date.parse(hit.token.expiresAt);
      return expires > now ? hit.token : undefined;
    },
    async verify(text) {
      const now = Date.now();
      const hit = cache.get(text);
      if (hit && hit.until > now) {
        const expires = hit.token.expiresAt === null ? Infinity : Date.parse(hit.token.expiresAt);
        if (expires > now) return hit.token;
      }
      cache.delete(text);
      const token = await repository.verify(text, now);
      if (token) {
        if (cache.size >= max) cache.clear();
        cache.set(text, { token, until: now + ttl });
      }
      return token;
    },
  };
}
