// Temp databases for store tests: a fresh file per test, removed afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** A fresh folder and a `file:` URL for a database inside it; `cleanup` removes both. */
export function tempDb(): { dir: string; url: string; path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "plughost-store-"));
  const path = join(dir, "host.db");
  return {
    dir,
    path,
    url: pathToFileURL(path).href,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
