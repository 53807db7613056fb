/**
 * Key files. `NAME.pub` and `NAME.key` are small JSON documents (see
 * docs/signing.md); the key id is the first 16 hex digits of
 * SHA-256(public key). Private key files are created with mode 0600 and their
 * contents never appear in output or error messages.
 * @module
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { sha256, toHex } from "../artifact/digest.ts";
import { HostError } from "../errors.ts";
import { fromBase64, toBase64 } from "./base64.ts";
import { generateKeyPair, publicKeyOf } from "./ed25519.ts";

/** Key ids: 16 lower-case hex digits. */
export const KeyIdSchema = z.string().regex(/^[0-9a-f]{16}$/, "must be 16 lower-case hex digits");

const bytes32 = z.string().refine((s) => fromBase64(s)?.length === 32, {
  error: "must be 32 bytes in base64",
});

/** A public key file (`NAME.pub`); the same document, in a trust store, trusts the key. */
export const PublicKeyFileSchema = z.strictObject({
  type: z.literal("plughost-public-key"),
  alg: z.literal("ed25519"),
  keyId: KeyIdSchema,
  publicKey: bytes32,
  label: z.string().max(200).optional(),
  expires: z.iso.datetime({ offset: true }).optional(),
});
/** A parsed public key file. */
export type PublicKeyFile = z.infer<typeof PublicKeyFileSchema>;

/** A private key file (`NAME.key`): the 32-byte ed25519 seed. */
export const PrivateKeyFileSchema = z.strictObject({
  type: z.literal("plughost-private-key"),
  alg: z.literal("ed25519"),
  keyId: KeyIdSchema,
  label: z.string().max(200).optional(),
  secretKey: bytes32,
});

/** A key ready to sign with. */
export interface SigningKey {
  keyId: string;
  label: string | undefined;
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/** The key id of a public key: first 16 hex digits of its SHA-256. */
export async function keyIdOf(publicKey: Uint8Array): Promise<string> {
  return toHex(await sha256(publicKey)).slice(0, 16);
}

/** Builds the public key document for a key. */
export async function publicKeyDocument(
  publicKey: Uint8Array,
  extra: { label?: string | undefined; expires?: string | undefined } = {},
): Promise<PublicKeyFile> {
  const doc: PublicKeyFile = {
    type: "plughost-public-key",
    alg: "ed25519",
    keyId: await keyIdOf(publicKey),
    publicKey: toBase64(publicKey),
  };
  if (extra.label !== undefined) doc.label = extra.label;
  if (extra.expires !== undefined) doc.expires = extra.expires;
  return doc;
}

/**
 * Creates a key pair and writes `<base>.key` (mode 0600) and `<base>.pub`.
 * Refuses to overwrite an existing key (HostError "conflict").
 */
export async function createKeyFiles(
  base: string,
  label: string | undefined,
): Promise<{ keyId: string; keyPath: string; pubPath: string; publicKey: Uint8Array }> {
  const { secretKey, publicKey } = await generateKeyPair();
  const keyId = await keyIdOf(publicKey);
  const keyPath = `${base}.key`;
  const pubPath = `${base}.pub`;
  await mkdir(dirname(keyPath), { recursive: true, mode: 0o700 });
  const privateDoc = {
    type: "plughost-private-key",
    alg: "ed25519",
    keyId,
    ...(label === undefined ? {} : { label }),
    secretKey: toBase64(secretKey),
  };
  try {
    // "wx": never overwrite a key; mode applies at creation, chmod guards against odd umasks.
    await writeFile(keyPath, JSON.stringify(privateDoc, null, 2) + "\n", {
      mode: 0o600,
      flag: "wx",
    });
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") {
      throw new HostError(
        "conflict",
        `${keyPath} already exists; choose another --out or delete the old key first`,
      );
    }
    throw error;
  }
  await chmod(keyPath, 0o600);
  const pub = await publicKeyDocument(publicKey, { label });
  await writeFile(pubPath, JSON.stringify(pub, null, 2) + "\n", { flag: "w" });
  return { keyId, keyPath, pubPath, publicKey };
}

/** Reads a private key file. Errors name the file and never show its contents. */
export async function readSigningKey(path: string): Promise<SigningKey> {
  const text = await readText(path, "private key");
  const parsed = PrivateKeyFileSchema.safeParse(parseJson(text));
  if (!parsed.success) {
    throw new HostError(
      "invalid_input",
      `${path} is not a plughost private key file (make one with 'host keygen --out DIR/NAME')`,
    );
  }
  const secretKey = fromBase64(parsed.data.secretKey) as Uint8Array;
  const publicKey = await publicKeyOf(secretKey);
  if (await keyIdOf(publicKey) !== parsed.data.keyId) {
    throw new HostError(
      "invalid_input",
      `${path}: the key id does not match the key; the file is damaged`,
    );
  }
  return { keyId: parsed.data.keyId, label: parsed.data.label, secretKey, publicKey };
}

/** Reads and checks a public key document (a `.pub` file): its key id must match its key. */
export async function parsePublicKeyFile(
  text: string,
  path: string,
): Promise<PublicKeyFile & { publicKeyBytes: Uint8Array }> {
  const parsed = PublicKeyFileSchema.safeParse(parseJson(text));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) =>
      `${i.path.join(".") || "(root)"}: ${i.message}`
    );
    throw new HostError(
      "invalid_input",
      `${path} is not a valid public key file: ${problems.join("; ")}`,
    );
  }
  const publicKeyBytes = fromBase64(parsed.data.publicKey) as Uint8Array;
  if (await keyIdOf(publicKeyBytes) !== parsed.data.keyId) {
    throw new HostError(
      "invalid_input",
      `${path}: keyId does not match publicKey; the file is damaged`,
    );
  }
  return { ...parsed.data, publicKeyBytes };
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new HostError(
      "invalid_input",
      `Cannot read ${what} ${path}: ${code === "ENOENT" ? "no such file" : code}`,
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
