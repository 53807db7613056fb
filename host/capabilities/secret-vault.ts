/**
 * Secrets in the database, encrypted at rest: AES-256-GCM (WebCrypto) under
 * the key in `PLUGHOST_SECRETS_KEY` (base64 of 32 random bytes), a random
 * 12-byte nonce per write, and the plugin id, name and version as additional
 * data, so a row copied to another plugin, name or version does not open.
 * The key is never stored; each row names the key that sealed it (the first
 * 8 bytes of its SHA-256) so a wrong key is reported as such.
 * @module
 */
import { z } from "zod";
import { sha256Hex } from "../artifact/mod.ts";
import { HostError } from "../errors.ts";
import type { SealedSecret, SecretsRepository, StoredSecret } from "../store/mod.ts";
import type { SecretProvider } from "./secrets.ts";

/** The environment variable holding the key. */
export const SECRETS_KEY_ENV = "PLUGHOST_SECRETS_KEY";

/** An imported key and its id. */
export interface SecretsKey {
  key: CryptoKey;
  id: string;
}

const KeyText = z.string().trim().regex(/^[A-Za-z0-9+/]+={0,2}$/).transform((t, ctx) => {
  const bytes = Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
  if (bytes.length !== 32) {
    ctx.addIssue({ code: "custom", message: `decodes to ${bytes.length} bytes` });
    return z.NEVER;
  }
  return bytes;
});

/**
 * The key from `text` (the variable's value). A missing one is a usage error,
 * a malformed one invalid input; both say how to make one.
 */
export async function importSecretsKey(text: string | undefined): Promise<SecretsKey> {
  const make = "make one with: openssl rand -base64 32";
  if (text === undefined || text.trim() === "") {
    throw new HostError(
      "usage",
      `${SECRETS_KEY_ENV} is not set: database secrets are encrypted with it (${make}, and keep it with the host's other secrets)`,
    );
  }
  const parsed = KeyText.safeParse(text);
  if (!parsed.success) {
    throw new HostError(
      "invalid_input",
      `${SECRETS_KEY_ENV} must be the base64 of exactly 32 bytes (${make})`,
    );
  }
  const bytes = parsed.data;
  // The key's id: the first 8 bytes of its SHA-256, in hex.
  const id = (await sha256Hex(bytes)).slice(0, 16);
  const key = await crypto.subtle.importKey("raw", bytes, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  return { key, id };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function additionalData(pluginId: string, name: string, version: number): Uint8Array<ArrayBuffer> {
  return encoder.encode(`plughost-secret\0${pluginId}\0${name}\0${version}`);
}

/** Seals `value` as `version` of `pluginId`'s `name`. */
export async function sealSecret(
  key: SecretsKey,
  pluginId: string,
  name: string,
  version: number,
  value: string,
): Promise<SealedSecret> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: additionalData(pluginId, name, version) },
      key.key,
      encoder.encode(value),
    ),
  );
  return { ciphertext, iv, keyId: key.id };
}

/** Opens a stored secret; a HostError naming the problem when `key` is not the one that sealed it. */
export async function openSecret(key: SecretsKey, stored: StoredSecret): Promise<string> {
  const where = `secret '${stored.name}' of '${stored.pluginId}'`;
  if (stored.keyId !== key.id) {
    throw new HostError(
      "host_error",
      `${SECRETS_KEY_ENV} is not the key ${where} was stored with (key id ${stored.keyId}, this key is ${key.id}); start the host with that key, or set the secret again`,
    );
  }
  try {
    const plain = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: new Uint8Array(stored.iv),
        additionalData: additionalData(stored.pluginId, stored.name, stored.version),
      },
      key.key,
      new Uint8Array(stored.ciphertext),
    );
    return decoder.decode(plain);
  } catch {
    throw new HostError(
      "host_error",
      `The database copy of ${where} does not decrypt (altered, or moved from another plugin or name); set it again`,
    );
  }
}

/** Stores `value` as the next version of the name (retrying when another writer won); that version. */
export async function storeSecret(
  repo: SecretsRepository,
  key: SecretsKey,
  pluginId: string,
  name: string,
  value: string,
): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const version = await repo.nextVersion(pluginId, name);
    const sealed = await sealSecret(key, pluginId, name, version, value);
    if (await repo.put(pluginId, name, version, sealed)) return version;
  }
  throw new HostError(
    "conflict",
    `secret '${name}' of '${pluginId}' kept changing while it was set; try again`,
  );
}

/** What one load of a plugin's database secrets gave: values, or why a name cannot be opened. */
type Loaded = Map<string, { value: string } | { error: HostError }>;

/**
 * The database provider: `prepare(pluginId)` (before each run) loads and
 * opens the plugin's rows when the last load is older than `ttlMs`, so a
 * `host secrets set` on any host sharing the database is seen within it.
 * `get` answers from that load. A name stored in the database that cannot be
 * opened (no key, wrong key, altered row) throws with the reason instead of
 * falling through to the next provider.
 */
export function databaseSecrets(
  repo: SecretsRepository,
  keyText: () => string | undefined,
  ttlMs: number,
  now: () => number = Date.now,
): SecretProvider {
  const loaded = new Map<string, { at: number; values: Loaded }>();
  let imported: { text: string | undefined; key: Promise<SecretsKey> } | undefined;
  const keyFor = (text: string | undefined): Promise<SecretsKey> => {
    if (imported === undefined || imported.text !== text) {
      const key = importSecretsKey(text);
      key.catch(() => {}); // awaited by prepare; a failure is reported per name there
      imported = { text, key };
    }
    return imported.key;
  };
  return {
    kind: "database",
    get(name, pluginId) {
      if (pluginId === undefined) return undefined;
      const found = loaded.get(pluginId)?.values.get(name);
      if (found === undefined) return undefined;
      if ("error" in found) throw found.error;
      return found.value;
    },
    async prepare(pluginId) {
      const last = loaded.get(pluginId);
      const t = now();
      if (last && t - last.at < ttlMs) return false;
      const rows = await repo.sealed(pluginId);
      const values: Loaded = new Map();
      if (rows.length > 0) {
        let key: SecretsKey | undefined;
        let keyError: HostError | undefined;
        try {
          key = await keyFor(keyText());
        } catch (error) {
          keyError = error instanceof HostError
            ? new HostError("host_error", `Cannot open the database secrets: ${error.message}`)
            : new HostError("host_error", String(error));
        }
        for (const row of rows) {
          if (key === undefined) {
            values.set(row.name, { error: keyError! });
            continue;
          }
          try {
            values.set(row.name, { value: await openSecret(key, row) });
          } catch (error) {
            values.set(row.name, {
              error: error instanceof HostError
                ? error
                : new HostError("host_error", String(error)),
            });
          }
        }
      }
      loaded.set(pluginId, { at: t, values });
      return true;
    },
  };
}
