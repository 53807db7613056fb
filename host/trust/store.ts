/**
 * The trust store: a directory holding one `*.pub` file per trusted key
 * (label and optional expiry inside) and a `revoked.txt` file listing revoked
 * key ids. Format: docs/signing.md.
 * @module
 */
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HostError } from "../errors.ts";
import { parsePublicKeyFile, publicKeyDocument, type PublicKeyFile } from "./keys.ts";

/** A key the store trusts. */
export interface TrustedKey {
  keyId: string;
  publicKey: Uint8Array;
  label: string | undefined;
  expires: Date | undefined;
  /** The file it came from. */
  file: string;
}

/** A loaded trust store. */
export interface TrustStore {
  path: string;
  keys: ReadonlyMap<string, TrustedKey>;
  /** Revoked key id -> the comment on its line (may be empty). */
  revoked: ReadonlyMap<string, string>;
}

/** Name of the revocation list inside a trust directory. */
export const REVOKED_FILE = "revoked.txt";

/** An empty store (trusts nothing): what a missing trust directory means. */
export function emptyTrustStore(path: string): TrustStore {
  return { path, keys: new Map(), revoked: new Map() };
}

/**
 * Loads the trust store at `path`. A missing directory is an empty store; a
 * damaged file fails loudly (HostError "invalid_input") instead of being skipped.
 *
 * @example
 * ```ts
 * const trust = await loadTrustStore(".plughost/trust");
 * console.log(trust.keys.size, "trusted keys,", trust.revoked.size, "revoked");
 * ```
 */
export async function loadTrustStore(path: string): Promise<TrustStore> {
  let names: string[];
  try {
    names = (await readdir(path)).sort();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT") return emptyTrustStore(path);
    if (code === "ENOTDIR" && path.endsWith(".pub")) return await singleKeyStore(path);
    if (code === "ENOTDIR") {
      throw new HostError("invalid_input", `Trust store ${path} is not a directory`);
    }
    throw new HostError("invalid_input", `Cannot read trust store ${path}: ${code ?? error}`);
  }
  const keys = new Map<string, TrustedKey>();
  for (const name of names.filter((n) => n.endsWith(".pub"))) {
    const file = join(path, name);
    const doc = await parsePublicKeyFile(await readFile(file, "utf8"), file);
    const previous = keys.get(doc.keyId);
    if (previous !== undefined) {
      throw new HostError(
        "invalid_input",
        `Trust store ${path}: key ${doc.keyId} is listed twice (${previous.file}, ${file}); delete one`,
      );
    }
    keys.set(doc.keyId, {
      keyId: doc.keyId,
      publicKey: doc.publicKeyBytes,
      label: doc.label,
      expires: doc.expires === undefined ? undefined : new Date(doc.expires),
      file,
    });
  }
  const revoked = names.includes(REVOKED_FILE)
    ? parseRevoked(await readFile(join(path, REVOKED_FILE), "utf8"), join(path, REVOKED_FILE))
    : new Map<string, string>();
  return { path, keys, revoked };
}

/** `--trust NAME.pub`: a store holding just that key (a plugin author's dev key, say). */
async function singleKeyStore(file: string): Promise<TrustStore> {
  const doc = await parsePublicKeyFile(await readFile(file, "utf8"), file);
  const key: TrustedKey = {
    keyId: doc.keyId,
    publicKey: doc.publicKeyBytes,
    label: doc.label,
    expires: doc.expires === undefined ? undefined : new Date(doc.expires),
    file,
  };
  return { path: file, keys: new Map([[doc.keyId, key]]), revoked: new Map() };
}

/**
 * Parses a revocation list: one key id per line, optionally followed by a
 * comment; blank lines and lines starting with `#` are ignored.
 */
export function parseRevoked(text: string, file: string): Map<string, string> {
  const revoked = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^([0-9a-f]{16})(?:\s+(.*))?$/.exec(line);
    if (match === null) {
      throw new HostError(
        "invalid_input",
        `${file}:${index + 1}: expected a 16-hex-digit key id, optionally followed by a comment`,
      );
    }
    revoked.set(match[1] as string, match[2] ?? "");
  });
  return revoked;
}

/**
 * Trusts a public key: writes `<keyId>.pub` into the store directory (created
 * if needed), with a label and optional expiry. Returns the file written.
 */
export async function trustKey(
  path: string,
  publicKey: Uint8Array,
  options: { label?: string | undefined; expires?: string | undefined } = {},
): Promise<{ file: string; document: PublicKeyFile }> {
  await mkdir(path, { recursive: true });
  const info = await stat(path);
  if (!info.isDirectory()) {
    throw new HostError("invalid_input", `Trust store ${path} is not a directory`);
  }
  const document = await publicKeyDocument(publicKey, options);
  const file = join(path, `${document.keyId}.pub`);
  await writeFile(file, JSON.stringify(document, null, 2) + "\n");
  return { file, document };
}
