// Temp databases for store tests: a fresh file per test, removed afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach } from "vitest";
import { openStore, type Store } from "../../host/store/mod.ts";

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

/**
 * A store opened on a fresh temp database before each test of the calling
 * file and closed and removed after it; read `store` inside a test.
 */
export function storePerTest(): { readonly store: Store; readonly db: ReturnType<typeof tempDb> } {
  let db: ReturnType<typeof tempDb> | undefined;
  let store: Store | undefined;
  beforeEach(async () => {
    db = tempDb();
    store = await openStore({ url: db.url });
  });
  afterEach(async () => {
    await store?.close();
    db?.cleanup();
  });
  return {
    get store() {
      if (!store) throw new Error("storePerTest: the store exists only inside a test");
      return store;
    },
    get db() {
      if (!db) throw new Error("storePerTest: the database exists only inside a test");
      return db;
    },
  };
}
