// Decides whether dist/host is fresh: the last build records the files it was
// made from (esbuild's inputs, carried files, these scripts, the Node binary);
// the executable is rebuilt only when one of them changed.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The digest of the given input files (relative to the repository) and of the toolchain. */
export function inputsDigest(entry, inputs) {
  const hash = createHash("sha256");
  const node = statSync(process.execPath);
  hash.update(`node ${process.version} ${process.execPath} ${node.size} ${node.mtimeMs}\n`);
  hash.update(`entry ${relative(root, entry)}\n`);
  const scripts = readdirSync(join(root, "scripts")).filter((name) =>
    name.startsWith("build-binary")
  );
  const files = [...new Set([...inputs, ...scripts.map((name) => `scripts/${name}`)])].sort();
  for (const file of files) {
    let bytes;
    try {
      bytes = readFileSync(join(root, file));
    } catch {
      bytes = new Uint8Array(); // a removed input changes the digest too
      hash.update("missing ");
    }
    hash.update(`${file} ${bytes.byteLength}\n`).update(bytes);
  }
  return hash.digest("hex");
}

/** Returns { sha256, bytes } of `out` when it was built from the current inputs, else null. */
export function isFresh(out, entry) {
  const stampFile = `${out}.inputs.json`;
  if (!existsSync(out) || !existsSync(stampFile)) return null;
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampFile, "utf8"));
  } catch {
    return null;
  }
  if (!Array.isArray(stamp.inputs) || statSync(out).size !== stamp.bytes) return null;
  if (inputsDigest(entry, stamp.inputs) !== stamp.digest) return null;
  return { sha256: stamp.sha256, bytes: stamp.bytes };
}

/** Records what `out` was built from, for isFresh(). */
export function writeStamp(out, entry, inputs, { sha256, bytes }) {
  const unique = [...new Set(inputs)].sort();
  const digest = inputsDigest(entry, unique);
  writeFileSync(`${out}.inputs.json`, JSON.stringify({ digest, sha256, bytes, inputs: unique }));
}
