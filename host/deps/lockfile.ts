/**
 * `plughost.lock`: the installed set, exactly (docs/registry.md, "Lockfile").
 * JSON, checked with zod when read; written sorted by id so the same set
 * gives the same bytes.
 * @module
 */
import { z } from "zod";

/** The lockfile's name in the data directory. */
export const LOCKFILE_NAME = "plughost.lock";

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "must be a hex SHA-256 digest");

/** One locked plugin. */
export const LockedPlugin = z.strictObject({
  version: z.string().min(1),
  /** Hex SHA-256 of the signed message: what `host install --locked` must get again. */
  digest: hex64,
  /** Key ids whose signatures verified when it was installed. */
  signers: z.array(z.string()),
  /** Its manifest's dependencies: id -> range. */
  dependencies: z.record(z.string(), z.string()),
  /** The version each dependency resolved to (absent optional ones left out). */
  resolved: z.record(z.string(), z.string()),
  /** The registry it came from (base URL), when it came from one. */
  registry: z.string().url().optional(),
});
export type LockedPlugin = z.infer<typeof LockedPlugin>;

/** The whole lockfile. */
export const Lockfile = z.strictObject({
  lockfileVersion: z.literal(1),
  plugins: z.record(z.string(), LockedPlugin),
});
export type Lockfile = z.infer<typeof Lockfile>;

/** The lockfile as text: ids sorted, two-space indent, trailing newline. */
export function serializeLockfile(lock: Lockfile): string {
  const plugins = Object.fromEntries(
    Object.keys(lock.plugins).sort().map((id) => [id, lock.plugins[id]!]),
  );
  return JSON.stringify({ lockfileVersion: 1, plugins }, null, 2) + "\n";
}

/** Parses lockfile text; the error names the field that is wrong. */
export function parseLockfile(text: string): Lockfile | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not JSON (${error instanceof Error ? error.message : String(error)})`;
  }
  const parsed = Lockfile.safeParse(value);
  return parsed.success ? parsed.data : z.prettifyError(parsed.error);
}
