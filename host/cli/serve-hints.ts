/**
 * What a fresh `host serve` is missing, said at start: a server with an
 * empty trust store loads no signed plugin, and one without tokens answers
 * every /v1 route with 401. Each hint names the next step.
 * @module
 */
import type { Store } from "../store/mod.ts";
import { loadTrustStore } from "../trust/mod.ts";

/** One thing missing and what to do about it. */
export interface StartHint {
  missing: "trusted_keys" | "tokens" | "plugins";
  message: string;
}

/** The hints for a server over `store` with its trust store at `trustPath`. */
export async function startHints(
  store: Store,
  trustPath: string,
  pluginsLoaded: number,
  now = Date.now(),
): Promise<StartHint[]> {
  const hints: StartHint[] = [];
  const trust = await loadTrustStore(trustPath).catch(() => undefined);
  if (trust !== undefined && trust.keys.size === 0) {
    hints.push({
      missing: "trusted_keys",
      message: `the trust store ${trustPath} has no keys, so no signed plugin can load: ` +
        "copy a signer's .pub file there (docs/signing.md; 'host keygen' makes a key pair)",
    });
  }
  if (pluginsLoaded === 0) {
    hints.push({
      missing: "plugins",
      message: "no plugin is loaded: start with --plugins DIR, or install one " +
        "('host install FILE.wasm', or POST /v1/plugins)",
    });
  }
  const active = (await store.tokens.list()).filter((t) =>
    t.revokedAt === null && (t.expiresAt === null || Date.parse(t.expiresAt) > now)
  );
  if (active.length === 0) {
    hints.push({
      missing: "tokens",
      message: "no API token exists, so every /v1 route answers 401: " +
        "create one with 'host tokens create --scope admin' (docs/http-api.md)",
    });
  }
  return hints;
}
