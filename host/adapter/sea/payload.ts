/**
 * Puts the files a single executable carries into a private directory named by
 * their digest, once per build and user: later starts only check that the
 * directory is complete. Nothing is written per run, so nothing is left over.
 * @module
 */
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import type { PayloadManifest } from "./manifest.ts";

/** Reads one embedded asset (node:sea's getAsset, or anything with its shape in tests). */
export type AssetReader = (key: string) => ArrayBuffer;

const COMPLETE = ".complete";
/** A build's directory unused for this long is removed by a later start of another build. */
const STALE_MS = 30 * 24 * 3600 * 1000;

/**
 * Returns the directory holding the manifest's files, extracting them first if
 * needed. `root` defaults to `$TMPDIR/plughost-<uid>`, created private (0700).
 */
export function ensurePayload(
  manifest: PayloadManifest,
  readAsset: AssetReader,
  root: string = defaultRoot(),
): string {
  privateDir(root);
  const dir = join(root, manifest.digest.slice(0, 32));
  if (isComplete(dir, manifest)) {
    touch(dir);
  } else {
    extract(dir, manifest, readAsset);
  }
  prune(root, dir);
  return dir;
}

/** `$TMPDIR/plughost-<uid>`: one private directory per user. */
export function defaultRoot(): string {
  const uid = typeof process.getuid === "function" ? process.getuid() : "user";
  return join(tmpdir(), `plughost-${uid}`);
}

/** Creates `dir` (0700) or checks that the existing one is ours and private. */
function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = lstatSync(dir);
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  const ours = uid === undefined || info.uid === uid;
  if (!info.isDirectory() || !ours || (info.mode & 0o077) !== 0) {
    throw new Error(
      `Cannot use '${dir}' for the executable's files: it must be a directory owned by you ` +
        `with mode 0700. Remove it, or set TMPDIR to another directory`,
    );
  }
}

function isComplete(dir: string, manifest: PayloadManifest): boolean {
  try {
    if (readFileSync(join(dir, COMPLETE), "utf8") !== manifest.digest) return false;
    // Sizes are cheap to check; the directory is private, so contents are trusted.
    return manifest.files.every((file) => statSync(join(dir, file.path)).size === file.size);
  } catch {
    return false;
  }
}

/** Writes into a temp sibling, then renames it into place: readers never see half a payload. */
function extract(dir: string, manifest: PayloadManifest, readAsset: AssetReader): void {
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp, { mode: 0o700 });
    for (const file of manifest.files) {
      const bytes = new Uint8Array(readAsset(file.asset));
      if (bytes.byteLength !== file.size) {
        throw new Error(
          `The executable's asset '${file.asset}' has ${bytes.byteLength} bytes, ` +
            `expected ${file.size}: the file is damaged, copy it again`,
        );
      }
      const target = join(tmp, file.path);
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(target, bytes, { mode: 0o600 });
    }
    writeFileSync(join(tmp, COMPLETE), manifest.digest, { mode: 0o600 });
    // An incomplete directory (sizes changed by hand) is replaced whole.
    if (!isComplete(dir, manifest)) rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(tmp, dir);
    } catch (error) {
      // Another start of the same build won the race: its copy is as good as ours.
      if (!isComplete(dir, manifest)) throw error;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function touch(dir: string): void {
  const now = new Date();
  try {
    utimesSync(dir, now, now);
  } catch {
    // Only an age hint for pruning; a read-only directory still works.
  }
}

/** Removes other builds' directories unused for a month, and temp dirs of dead processes. */
function prune(root: string, keep: string): void {
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (path === keep) continue;
    try {
      const tmp = /\.(\d+)\.tmp$/.exec(name);
      const stale = tmp
        ? !alive(Number(tmp[1]))
        : /^[0-9a-f]{32}$/.test(name) && Date.now() - statSync(path).mtimeMs > STALE_MS;
      if (stale) rmSync(path, { recursive: true, force: true });
    } catch {
      // Pruning is best effort; it never stops the host from starting.
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}
