/**
 * The manifest a single executable carries: which embedded assets make up the
 * app (the ESM bundle, native addons, packages kept as files) and the digest
 * that names their extraction directory. Written by scripts/build-binary.mjs.
 * @module
 */
import * as z from "zod/mini";

/** Asset key under which the build stores the manifest. */
export const MANIFEST_ASSET = "plughost/manifest.json";

const relativePath = z.string().check(
  z.regex(/^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._@+\/-]+$/, "a plain relative path"),
);

const payloadFile = z.object({
  /** Where the file goes, relative to the extraction directory. */
  path: relativePath,
  /** The SEA asset key holding its bytes. */
  asset: z.string(),
  size: z.int().check(z.nonnegative()),
});

const payloadManifest = z.object({
  schemaVersion: z.literal(1),
  /** SHA-256 (hex) over every file's path and bytes: names the extraction directory. */
  digest: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  /** The ESM module to import once the files are in place. */
  entry: relativePath,
  files: z.array(payloadFile),
});

/** What the single executable carries, as the build described it. */
export type PayloadManifest = z.infer<typeof payloadManifest>;

/** Parses the embedded manifest; a bad one means a broken build, said plainly. */
export function parseManifest(text: string): PayloadManifest {
  const parsed = payloadManifest.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join(".") || "manifest"}: ${issue.message}` : "unknown";
    throw new Error(
      `The executable's embedded manifest is invalid (${where}): rebuild it with npm run build:binary`,
    );
  }
  return parsed.data;
}
