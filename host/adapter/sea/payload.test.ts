import { createHash } from "node:crypto";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseManifest, type PayloadManifest } from "./manifest.ts";
import { ensurePayload } from "./payload.ts";

const files: Record<string, Uint8Array> = {
  "app.mjs": new TextEncoder().encode("export default 1;\n"),
  "native/addon.node": new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]),
};

function manifest(contents = files): PayloadManifest {
  const hash = createHash("sha256");
  for (const [path, bytes] of Object.entries(contents)) hash.update(path).update(bytes);
  return parseManifest(JSON.stringify({
    schemaVersion: 1,
    digest: hash.digest("hex"),
    entry: "app.mjs",
    files: Object.entries(contents).map(([path, bytes]) => ({
      path,
      asset: `plughost/${path}`,
      size: bytes.byteLength,
    })),
  }));
}

/** Reads assets from `contents`, counting reads (so a reuse shows as zero reads). */
function assets(contents = files) {
  const reader = (key: string): ArrayBuffer => {
    reader.reads++;
    const bytes = contents[key.replace(/^plughost\//, "")];
    if (!bytes) throw new Error(`no asset ${key}`);
    return bytes.slice().buffer;
  };
  reader.reads = 0;
  return reader;
}

let base: string;
let root: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "plughost-payload-test-"));
  root = join(base, "plughost-test");
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe("ensurePayload", () => {
  it("extracts every file into a private directory named by the digest", () => {
    const m = manifest();
    const dir = ensurePayload(m, assets(), root);
    expect(dir).toBe(join(root, m.digest.slice(0, 32)));
    expect(statSync(root).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dir, "app.mjs"), "utf8")).toBe("export default 1;\n");
    expect(new Uint8Array(readFileSync(join(dir, "native/addon.node")))).toEqual(
      files["native/addon.node"],
    );
    expect(readdirSync(root)).toEqual([m.digest.slice(0, 32)]);
  });

  it("reuses a complete directory without reading the assets again", () => {
    const m = manifest();
    ensurePayload(m, assets(), root);
    const reader = assets();
    ensurePayload(m, reader, root);
    expect(reader.reads).toBe(0);
  });

  it("replaces a directory whose files were damaged", () => {
    const m = manifest();
    const dir = ensurePayload(m, assets(), root);
    writeFileSync(join(dir, "app.mjs"), "truncated");
    const reader = assets();
    ensurePayload(m, reader, root);
    expect(reader.reads).toBe(2);
    expect(readFileSync(join(dir, "app.mjs"), "utf8")).toBe("export default 1;\n");
  });

  it("refuses a root that others can read, and says what to do", () => {
    mkdirSync(root, { mode: 0o700 });
    chmodSync(root, 0o755);
    expect(() => ensurePayload(manifest(), assets(), root)).toThrow(
      /must be a directory owned by you with mode 0700.*set TMPDIR/,
    );
  });

  it("rejects an asset whose size differs from the manifest, leaving nothing behind", () => {
    const m = manifest();
    const short = { ...files, "app.mjs": new Uint8Array([1]) };
    expect(() => ensurePayload(m, assets(short), root)).toThrow(/damaged, copy it again/);
    expect(readdirSync(root)).toEqual([]);
  });

  it("removes dead processes' temp dirs and other builds unused for a month", () => {
    mkdirSync(root, { mode: 0o700 });
    const deadTmp = join(root, "0123456789abcdef0123456789abcdef.999999999.tmp");
    const old = join(root, "fedcba9876543210fedcba9876543210");
    const recent = join(root, "00000000000000000000000000000000");
    for (const dir of [deadTmp, old, recent]) mkdirSync(dir);
    const monthsAgo = new Date(Date.now() - 40 * 24 * 3600 * 1000);
    utimesSync(old, monthsAgo, monthsAgo);
    const m = manifest();
    ensurePayload(m, assets(), root);
    expect(readdirSync(root).sort()).toEqual(
      [recent.slice(root.length + 1), m.digest.slice(0, 32)].sort(),
    );
  });
});

describe("parseManifest", () => {
  it("refuses paths that climb out of the directory", () => {
    const bad = { ...manifest(), files: [{ path: "../evil", asset: "x", size: 1 }] };
    expect(() => parseManifest(JSON.stringify(bad))).toThrow(
      /files\.0\.path.*npm run build:binary/,
    );
  });
});
